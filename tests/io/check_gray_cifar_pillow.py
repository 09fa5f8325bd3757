#!/usr/bin/env python3
"""`tessera data cifar10-gray` against the paper's own pipeline, run with
Pillow itself (Debian's python3-pil): torchvision's Resize((28, 28)) is
PIL's Image.resize((28, 28), BILINEAR) on the RGB image, and the paper's
data.py then takes the mean over R, G, B (kept here rounded to bytes, as
the IDX file stores them). Every pixel of 64 random images and of a few
hand-made ones (flat, stripes, a single bright pixel) must be equal.
    check_gray_cifar_pillow.py TESSERA_EXE WORK_DIR"""
import gzip
import os
import random
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

exe, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
src = os.path.join(work, "cifar-10-batches-bin")
os.makedirs(src)
rng = random.Random(7)

images = [bytes(rng.randrange(256) for _ in range(3072)) for _ in range(64)]
flat = bytes([200] * 3072)
stripes = bytes((255 if (i % 32) % 2 else 0) for i in range(3072))
dot = bytearray(3072); dot[15 * 32 + 16] = 255; dot[1024 + 15 * 32 + 16] = 255; dot[2048 + 15 * 32 + 16] = 255
images += [flat, stripes, bytes(dot)]
with open(os.path.join(src, "test_batch.bin"), "wb") as f:
    for k, img in enumerate(images):
        f.write(bytes([k % 10]) + img)
for b in range(1, 6):
    with open(os.path.join(src, f"data_batch_{b}.bin"), "wb") as f:
        f.write(bytes([b]) + images[b])

out = os.path.join(work, "out")
subprocess.run([exe, "data", "cifar10-gray", "--in", src, "--out", out], check=True, stdout=subprocess.DEVNULL)
with gzip.open(os.path.join(out, "t10k-images-idx3-ubyte.gz"), "rb") as f:
    raw = f.read()
assert raw[:4] == b"\x00\x00\x08\x03", raw[:4]
n, h, w = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
assert (n, h, w) == (len(images), 28, 28), (n, h, w)
got = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 28, 28)

bad = 0
for k, img in enumerate(images):
    hwc = np.frombuffer(img, dtype=np.uint8).reshape(3, 32, 32).transpose(1, 2, 0)
    small = np.array(Image.fromarray(hwc).resize((28, 28), Image.BILINEAR))
    want = np.rint(small.astype(np.float64).mean(axis=2)).astype(np.uint8)  # the paper: mean / 255, unrounded
    diff = np.argwhere(got[k] != want)
    if len(diff):
        bad += 1
        y, x = diff[0]
        print(f"image {k}: {len(diff)} pixels differ from Pillow, first at ({y},{x}): {got[k][y][x]} vs {want[y][x]}")
if bad:
    sys.exit(1)
print(f"{len(images)} images, every pixel equal to Pillow {Image.__version__ if hasattr(Image, '__version__') else ''}'s pipeline")
