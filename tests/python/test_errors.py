"""Bad input raises tessera.Error (a ValueError) with the command line's
one-line message, and nothing crashes."""
import math
import os
import tempfile
import unittest

import numpy as np

import tessera
from _support import cli_error, inputs, model


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = tessera.load(model("toy2d.onnx"))

    def test_error_is_a_value_error(self):
        self.assertTrue(issubclass(tessera.Error, ValueError))

    def test_missing_file_same_message_as_cli(self):
        with self.assertRaises(tessera.Error) as e:
            tessera.load("/nonexistent/model.onnx")
        self.assertEqual(str(e.exception),
                         cli_error("affine", "/nonexistent/model.onnx", "--input", inputs("toy2d_point.txt")))

    def test_corrupt_bytes(self):
        with open(model("toy2d.onnx"), "rb") as f:
            data = f.read()
        with self.assertRaises(tessera.Error) as e:
            tessera.load_bytes(data[: len(data) // 2], "half.onnx")
        self.assertIn("half.onnx", str(e.exception))
        with self.assertRaises(tessera.Error):
            tessera.load_bytes(b"not a model", "junk")

    def test_corrupt_file_same_message_as_cli(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "half.onnx")
            with open(model("mnist_cnn.onnx"), "rb") as f:
                data = f.read()
            with open(path, "wb") as f:
                f.write(data[: len(data) // 3])
            with self.assertRaises(tessera.Error) as e:
                tessera.load(path)
            self.assertEqual(str(e.exception), cli_error("affine", path, "--input", inputs("seven.pgm")))

    def test_wrong_size(self):
        with self.assertRaisesRegex(tessera.Error, r"^x: has 3 values but the network expects 2$"):
            tessera.affine(self.net, [1.0, 2.0, 3.0])
        with self.assertRaisesRegex(tessera.Error, r"^X: expected an array of shape \(N, 2\)"):
            tessera.certify(self.net, np.zeros((4, 3)))

    def test_not_finite(self):
        with self.assertRaisesRegex(tessera.Error, "x"):
            tessera.affine(self.net, [math.nan, 0.0])
        with self.assertRaises(tessera.Error):
            tessera.certify(self.net, [math.inf, 0.0])

    def test_threshold_same_message_as_cli(self):
        with self.assertRaises(tessera.Error) as e:
            tessera.certify(self.net, [0.5, -0.25], threshold=1.5)
        self.assertEqual(str(e.exception), cli_error("certify", model("toy2d.onnx"), "--input",
                                                     inputs("toy2d_point.txt"), "--threshold", "1.5"))

    def test_bad_box(self):
        with self.assertRaisesRegex(tessera.Error, "box"):
            tessera.certify(self.net, [0.5, -0.25], box=(1, 0))
        with self.assertRaisesRegex(tessera.Error, "box"):
            tessera.certify(self.net, [0.5, -0.25], box="everywhere")
        with self.assertRaisesRegex(tessera.Error, "box lower bounds"):
            tessera.region(self.net, [0.5, -0.25], box=(np.zeros(3), np.ones(3)))

    def test_zero_direction(self):
        with self.assertRaisesRegex(tessera.Error, "direction"):
            tessera.ray(self.net, [0.5, -0.25], [0.5, -0.25])
        with self.assertRaisesRegex(tessera.Error, "direction"):
            tessera.ray(self.net, [0.5, -0.25], direction=[0, 0])
        with self.assertRaisesRegex(tessera.Error, "not both"):
            tessera.ray(self.net, [0.5, -0.25], [1, 1], direction=[0, 1])

    def test_slice_errors(self):
        with self.assertRaisesRegex(tessera.Error, "parallel"):
            tessera.slice(self.net, [0, 0], [1, 0], [2, 0])
        with self.assertRaisesRegex(tessera.Error, "window"):
            tessera.slice(self.net, [0, 0], [1, 0], [0, 1], window=(1, -1, -1, 1))
        with self.assertRaisesRegex(tessera.Error, "window"):
            tessera.slice(self.net, [0, 0], [1, 0], [0, 1], window=(1, 2, 3))

    def test_memory_budget(self):
        old = tessera.memory_budget()
        try:
            tessera.set_memory_budget(0.001)
            with self.assertRaisesRegex(tessera.Error, "memory budget"):
                tessera.uniform_noise(self.net, 10_000)
        finally:
            tessera.set_memory_budget(old)
        with self.assertRaises(tessera.Error):
            tessera.set_memory_budget(-1)
        self.assertEqual(tessera.uniform_noise(self.net, 10_000).shape, (10_000, 2))

    def test_model_over_the_budget_names_the_file_once(self):
        path = model("trained/lenet/mnist_plain.onnx")
        old = tessera.memory_budget()
        try:
            tessera.set_memory_budget(20)  # the LeNet needs about 50 MiB
            with self.assertRaises(tessera.Error) as e:
                tessera.load(path)
        finally:
            tessera.set_memory_budget(old)
        self.assertEqual(str(e.exception).count(path), 1, str(e.exception))
        self.assertIn("over the memory budget of 20 MiB", str(e.exception))

    def test_type_errors(self):
        with self.assertRaises(TypeError):
            tessera.affine(self.net, "0.5 -0.25")
        with self.assertRaises(TypeError):
            tessera.affine("toy2d.onnx", [0.5, -0.25])

    def test_segment_end_must_match(self):
        # ray(net, x, 1e-3) looks like an alpha0 but is the end of a segment: refused.
        with self.assertRaisesRegex(tessera.Error, r"^x1: has 1 values but x0 has 2"):
            tessera.ray(self.net, [0.5, -0.25], 1e-3)

    def test_box_bounds_must_be_finite(self):
        with self.assertRaisesRegex(tessera.Error, "not finite"):
            tessera.certify(self.net, [0.5, -0.25], box=(np.array([-np.inf, 0.0]), np.array([np.inf, 1.0])))
        with self.assertRaisesRegex(tessera.Error, "box"):
            tessera.certify(self.net, [0.5, -0.25], box=(-math.inf, math.inf))
        with self.assertRaisesRegex(tessera.Error, "above its upper bound"):
            tessera.region(self.net, [0.5, -0.25], box=(np.array([1.0, 0.0]), np.array([0.0, 1.0])))

    def test_sizes_and_limits(self):
        for bad in (-1, 0, 2.5, True):
            with self.assertRaisesRegex(tessera.Error, "^max_segments must be a whole number >= 1"):
                tessera.ray(self.net, [0.5, -0.25], max_segments=bad)
        with self.assertRaisesRegex(tessera.Error, "^max_regions"):
            tessera.slice(self.net, [0, 0], [1, 0], [0, 1], max_regions=-5)
        with self.assertRaisesRegex(tessera.Error, "^max_lp_rows"):
            tessera.region(self.net, [0.5, -0.25], max_lp_rows=0)
        with self.assertRaisesRegex(tessera.Error, "^count"):
            tessera.uniform_noise(self.net, 0)
        with self.assertRaisesRegex(tessera.Error, "^seed"):
            tessera.uniform_noise(self.net, 3, seed=-1)
        # Tiny and huge budgets are read as numbers, not as "0.000000".
        net = tessera.load(model("toy2d.onnx"), max_model_mb=1e-2)
        self.assertEqual(net.input_size, 2)
        with self.assertRaisesRegex(tessera.Error, "toy2d.onnx"):
            tessera.load(model("toy2d.onnx"), max_model_mb=1e-7)
        with self.assertRaisesRegex(tessera.Error, "^memory budget='1.0000000000000001e\\+300' is not a positive number of MiB$"):
            tessera.set_memory_budget(1e300)  # refused as --max-memory refuses it, not cast to int64

    def test_bad_arguments(self):
        with self.assertRaisesRegex(tessera.Error, "max_segments"):
            tessera.ray(self.net, [0.5, -0.25], max_segments=0)
        with self.assertRaisesRegex(tessera.Error, "threads"):
            tessera.certify(self.net, np.ones((3, 2)), threads=-1)
        with self.assertRaisesRegex(tessera.Error, "time_limit"):
            tessera.ray(self.net, [0.5, -0.25], time_limit=-1)
        with self.assertRaisesRegex(tessera.Error, "row"):
            tessera.read_input(self.net, inputs("toy2d_point.txt"), row=-5)


if __name__ == "__main__":
    unittest.main()
