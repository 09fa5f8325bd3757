#!/usr/bin/python3
"""Write an ONNX model with a chain of N ReLU nodes: input [1, 4] -> Gemm ->
Relu x N -> Gemm -> 3 logits.  Used to check that loading and analysing a
very deep graph is linear in its depth (docs/benchmarks.md).

Usage:  make_deep_chain.py N OUT.onnx

Writes the protobuf by hand (no onnx Python package needed)."""
import struct
import sys


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def vint(field, v):
    return key(field, 0) + varint(v)


def ld(field, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return key(field, 2) + varint(len(payload)) + payload


def tensor(name, dims, values):
    body = b"".join(vint(1, d) for d in dims) + vint(2, 1)  # FLOAT
    body += ld(9, struct.pack("<%df" % len(values), *values)) + ld(8, name)
    return body


def value_info(name, dims):
    shape = b"".join(ld(1, (ld(2, "N") if d is None else vint(1, d))) for d in dims)
    return ld(1, name) + ld(2, ld(1, vint(1, 1) + ld(2, shape)))


def node(op, inputs, outputs, name):
    return b"".join(ld(1, i) for i in inputs) + b"".join(ld(2, o) for o in outputs) + ld(3, name) + ld(4, op)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    n, path = int(argv[1]), argv[2]
    w1 = [0.5, -0.25, 0.75, 1.0, -0.5, 0.25, 0.125, 0.5, 1.0, 0.5, -0.75, 0.25, 0.25, 0.5, 0.5, -1.0]
    w2 = [1.0, -0.5, 0.25, 0.5, 0.5, 0.75, -0.25, 1.0, -1.0, 0.25, 0.5, 0.125]
    graph = bytearray()
    graph += ld(1, node("Gemm", ["input", "w1", "b1"], ["h0"], "fc1") + ld(5, ld(1, "transB") + vint(3, 1) + vint(20, 2)))
    for i in range(n):
        graph += ld(1, node("Relu", ["h%d" % i], ["h%d" % (i + 1)], "relu%d" % i))
    graph += ld(1, node("Gemm", ["h%d" % n, "w2", "b2"], ["logits"], "fc2") + ld(5, ld(1, "transB") + vint(3, 1) + vint(20, 2)))
    graph += ld(2, "deep_chain")
    graph += ld(5, tensor("w1", [4, 4], w1)) + ld(5, tensor("b1", [4], [0.1, -0.1, 0.2, 0.05]))
    graph += ld(5, tensor("w2", [3, 4], w2)) + ld(5, tensor("b2", [3], [0.0, 0.1, -0.1]))
    graph += ld(11, value_info("input", [None, 4])) + ld(12, value_info("logits", [None, 3]))
    model = vint(1, 8) + ld(8, ld(1, "") + vint(2, 13)) + ld(7, bytes(graph))
    with open(path, "wb") as fh:
        fh.write(model)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
