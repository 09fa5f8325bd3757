"""The module's results equal the command line's JSON, field for field, on
the shipped models (both call the same libraries and JSON writers; these
tests catch any drift in argument handling, defaults and conversion)."""
import os
import tempfile
import unittest

import numpy as np

import tessera
from _support import cli_json, inputs, model, without


def write_vector(path, v):
    with open(path, "w") as f:
        f.write(" ".join("%.17g" % x for x in np.asarray(v).reshape(-1)) + "\n")


class AffineEqualsCli(unittest.TestCase):
    def check(self, name, input_name, layers=False):
        net = tessera.load(model(name))
        x = tessera.read_input(net, inputs(input_name))
        got = tessera.affine(net, x, layers=layers).to_dict()
        args = ["affine", model(name), "--input", inputs(input_name)] + (["--layers"] if layers else [])
        self.assertEqual(got, without(cli_json(*args), "input"))

    def test_toy2d(self):
        self.check("toy2d.onnx", "toy2d_point.txt", layers=True)

    def test_toy2d_leaky(self):
        self.check("toy2d_leaky.onnx", "toy2d_point.txt")

    def test_mnist_mlp(self):
        self.check("mnist_mlp.onnx", "seven.pgm")

    def test_mnist_cnn_layers(self):
        self.check("mnist_cnn.onnx", "seven.pgm", layers=True)
        net = tessera.load(model("mnist_cnn.onnx"))
        r = tessera.affine(net, tessera.read_input(net, inputs("seven.pgm")), layers=True)
        self.assertTrue(all(isinstance(m.V, np.ndarray) and m.V.shape[1] == 784 for m in r.hidden_maps))

    def test_trained_moons(self):
        self.check("trained/moons_plain.onnx", "toy2d_point.txt")

    def test_laplace_models(self):
        self.check("trained/moons_plain.laplace.onnx", "toy2d_point.txt")
        self.check("trained/mnist_plain.laplace.onnx", "seven.pgm")
        net = tessera.load(model("trained/mnist_plain.laplace.onnx"))
        self.assertTrue(net.has_laplace)
        self.assertFalse(tessera.load(model("trained/mnist_plain.onnx")).has_laplace)
        r = tessera.affine(net, tessera.read_input(net, inputs("seven.pgm")))
        self.assertIsInstance(r.laplace, tessera.Laplace)
        self.assertIsInstance(r.laplace.probabilities, np.ndarray)
        self.assertAlmostEqual(float(r.laplace.probabilities.sum()), 1.0, places=12)


class RayEqualsCli(unittest.TestCase):
    def test_ray(self):
        for name, x in (("toy2d.onnx", "toy2d_point.txt"), ("mnist_mlp.onnx", "seven.pgm")):
            net = tessera.load(model(name))
            got = tessera.ray(net, tessera.read_input(net, inputs(x))).to_dict()
            self.assertEqual(got, cli_json("ray", model(name), "--input", inputs(x)))

    def test_segment_and_line(self):
        net = tessera.load(model("toy2d.onnx"))
        with tempfile.TemporaryDirectory() as tmp:
            a, b = np.array([-2.0, 0.5]), np.array([3.0, -1.25])
            write_vector(os.path.join(tmp, "a.txt"), a)
            write_vector(os.path.join(tmp, "b.txt"), b)
            seg = cli_json("ray", model("toy2d.onnx"), "--from", os.path.join(tmp, "a.txt"), "--to",
                           os.path.join(tmp, "b.txt"))
            self.assertEqual(tessera.ray(net, a, b).to_dict(), seg)
            line = cli_json("ray", model("toy2d.onnx"), "--origin", os.path.join(tmp, "a.txt"), "--direction",
                            os.path.join(tmp, "b.txt"), "--t0", "-1", "--t1", "inf")
            self.assertEqual(tessera.ray(net, a, direction=b, t0=-1).to_dict(), line)


class CertifyEqualsCli(unittest.TestCase):
    def test_one_input(self):
        net = tessera.load(model("mnist_mlp.onnx"))
        x = tessera.read_input(net, inputs("seven.pgm"))
        for extra, kwargs in (([], {}), (["--box", "none"], {"box": None}), (["--threshold", "0.99", "--full"],
                                                                              {"threshold": 0.99, "full": True})):
            got = tessera.certify(net, x, **kwargs).to_dict()
            want = cli_json("certify", model("mnist_mlp.onnx"), "--input", inputs("seven.pgm"), *extra)
            self.assertEqual(got, without(want, "input"))

    def test_laplace(self):
        # One input, and a set: the laplace objects equal the CLI's too.
        name = "trained/mnist_plain.laplace.onnx"
        net = tessera.load(model(name))
        got = tessera.certify(net, tessera.read_input(net, inputs("seven.pgm"))).to_dict()
        self.assertEqual(got, without(cli_json("certify", model(name), "--input", inputs("seven.pgm")), "input"))
        self.assertLess(got["laplace"]["limit_confidence"], 1.0)
        X = tessera.uniform_noise(net, 40, seed=2)
        s = tessera.certify(net, X)
        want = cli_json("certify", model(name), "--noise", "uniform", "--count", "40", "--seed", "2")
        self.assertEqual(s.to_dict(), without(want, "inputs"))
        self.assertEqual(s.summary.laplace["limit_below_one"], 40)
        self.assertIsInstance(s.certificates[0].laplace, tessera.Laplace)

    def test_noise_set(self):
        for name, box, args in (("trained/mnist_plain.onnx", "auto", []),
                                ("trained/moons_ceda.onnx", (-3, 3), ["--box", "-3:3"]),
                                ("toy2d.onnx", None, ["--box", "none"])):
            net = tessera.load(model(name))
            lo_hi = box if isinstance(box, tuple) else (0, 1)
            X = tessera.uniform_noise(net, 60, seed=7, box=lo_hi)
            got = tessera.certify(net, X, box=box).to_dict()
            want = cli_json("certify", model(name), "--noise", "uniform", "--count", "60", "--seed", "7", *args)
            self.assertEqual(got, without(want, "inputs"), name)


class RegionEqualsCli(unittest.TestCase):
    def test_toy2d(self):
        net = tessera.load(model("toy2d.onnx"))
        x = tessera.read_input(net, inputs("toy2d_point.txt"))
        got = tessera.region(net, x).to_dict()
        self.assertEqual(got, without(cli_json("region", model("toy2d.onnx"), "--input", inputs("toy2d_point.txt")),
                                      "input"))

    def test_mnist_mlp_without_facets(self):
        net = tessera.load(model("mnist_mlp.onnx"))
        x = tessera.read_input(net, inputs("seven.pgm"))
        got = tessera.region(net, x, facets=False, confidence=False).to_dict()
        want = cli_json("region", model("mnist_mlp.onnx"), "--input", inputs("seven.pgm"), "--no-facets",
                        "--no-confidence")
        self.assertEqual(got, without(want, "input"))


class SliceEqualsCli(unittest.TestCase):
    def test_toy2d(self):
        net = tessera.load(model("toy2d.onnx"))
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for i, v in enumerate(([0.25, -0.5], [1, 0.5], [-0.5, 1])):
                files.append(os.path.join(tmp, f"{i}.txt"))
                write_vector(files[-1], v)
            want = cli_json("slice", model("toy2d.onnx"), "--origin", files[0], "--e1", files[1], "--e2", files[2],
                            "--window", "-3:3:-2:2")
        got = tessera.slice(net, [0.25, -0.5], [1, 0.5], [-0.5, 1], window=(-3, 3, -2, 2)).to_dict()
        self.assertEqual(got, without(want, "plane"))

    def test_mnist_mlp_plane_with_box(self):
        net = tessera.load(model("mnist_mlp.onnx"))
        x = np.full(784, 0.5)  # inside the box [0, 1]^d
        rng = np.random.default_rng(3)
        e1, e2 = rng.standard_normal(784), rng.standard_normal(784)
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for i, v in enumerate((x, e1, e2)):
                files.append(os.path.join(tmp, f"{i}.txt"))
                write_vector(files[-1], v)
            with open(os.path.join(tmp, "box.txt"), "w") as f:
                f.write(" ".join(["0"] * 784) + "\n" + " ".join(["1"] * 784) + "\n")
            want = cli_json("slice", model("mnist_mlp.onnx"), "--origin", files[0], "--e1", files[1], "--e2", files[2],
                            "--window", "-0.2:0.2:-0.2:0.2", "--box-file", os.path.join(tmp, "box.txt"))
        got = tessera.slice(net, x, e1, e2, window=(-0.2, 0.2, -0.2, 0.2), box=(np.zeros(784), np.ones(784))).to_dict()
        self.assertGreater(got["regions"], 1)
        self.assertEqual(without(got, "input_box"), without(want, "plane", "input_box"))


class BoundEqualsCli(unittest.TestCase):
    def test_moons_box_every_method(self):
        net = tessera.load(model("trained/moons_plain.onnx"))
        for method in ("ibp", "crown", "exact"):
            got = tessera.bound(net, box=(-3.0, 3.0), method=method).to_dict()
            want = cli_json("bound", model("trained/moons_plain.onnx"), "--box", "-3:3", "--method", method)
            for key in ("seconds", "model"):
                got.pop(key)
            self.assertEqual(got, {k: want[k] for k in got}, method)

    def test_mnist_ball_around_an_image(self):
        net = tessera.load(model("trained/mnist_acet.onnx"))
        x = tessera.read_input(net, inputs("seven.pgm"))
        b = tessera.bound(net, x, eps=0.01, method="exact")
        want = cli_json("bound", model("trained/mnist_acet.onnx"), "--input", inputs("seven.pgm"), "--eps", "0.01",
                        "--method", "exact")
        self.assertEqual(b.upper_bound, want["upper_bound"])
        self.assertEqual(b.lower_bound, want["lower_bound"])
        self.assertEqual(b.argmax_input.shape, (784,))
        self.assertTrue(np.all(np.abs(b.argmax_input - x.reshape(-1)) <= 0.01 + 1e-12))
        with self.assertRaises(tessera.Error):
            tessera.bound(net, x)  # no eps
        with self.assertRaises(tessera.Error):
            tessera.bound(net, x, eps=0.1, method="lp")


if __name__ == "__main__":
    unittest.main()

