"""from_torch: the same network as exporting to a file by hand, no files
left behind, the module's mode restored; and the local affine map V(x)
checked against PyTorch autograd (independent evidence)."""
import os
import tempfile
import unittest

import numpy as np

import tessera

try:
    import torch
except ImportError:  # pragma: no cover - Debian's python3-torch is in the README's set-up
    torch = None


def small_cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.AvgPool2d(2),
        torch.nn.Conv2d(4, 6, 3), torch.nn.LeakyReLU(0.125), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(6 * 2 * 2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 5)).double()


@unittest.skipIf(torch is None, "python3-torch is not installed")
class FromTorch(unittest.TestCase):
    def test_equals_exporting_by_hand(self):
        m = small_cnn()
        example = torch.zeros(1, 1, 12, 12, dtype=torch.float64)
        net = tessera.from_torch(m, example)
        self.assertEqual(net.input_shape, (1, 12, 12))
        self.assertEqual(net.source, "<torch Sequential>")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.onnx")
            with torch.no_grad():
                torch.onnx.export(m.eval(), example, path, opset_version=13, input_names=["input"],
                                  output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                                  do_constant_folding=True)
            by_hand = tessera.load(path)
        rng = np.random.default_rng(1)
        for _ in range(20):
            x = rng.uniform(0, 1, 144)
            a, b = tessera.affine(net, x), tessera.affine(by_hand, x)
            self.assertTrue(np.array_equal(a.V, b.V))
            self.assertTrue(np.array_equal(a.a, b.a))
            self.assertTrue(np.array_equal(a.logits, b.logits))
        x = rng.uniform(0, 1, 144)
        self.assertEqual(tessera.ray(net, x).to_dict()["segments"], tessera.ray(by_hand, x).to_dict()["segments"])

    def test_matches_autograd(self):
        m = small_cnn().eval()
        net = tessera.from_torch(m, torch.zeros(1, 1, 12, 12, dtype=torch.float64))
        rng = np.random.default_rng(2)
        for _ in range(10):
            x = rng.uniform(0, 1, (1, 1, 12, 12))
            xt = torch.tensor(x, requires_grad=True)
            J = torch.autograd.functional.jacobian(lambda z: m(z)[0], xt).reshape(5, 144).numpy()
            r = tessera.affine(net, xt)  # a tensor that requires grad is accepted
            # float64 on both sides (the leaky slope 0.125 is exact in ONNX's float32
            # attribute); only the summation order differs.
            np.testing.assert_allclose(r.V, J, rtol=1e-10, atol=1e-12 * np.abs(J).max())
            np.testing.assert_allclose(r.logits, m(xt)[0].detach().numpy(), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(r.V @ x.reshape(-1) + r.a, r.logits, atol=1e-10)

    def test_no_files_and_mode_restored(self):
        m = small_cnn().train()
        m[0].eval()  # a submodule frozen in eval mode stays so
        with tempfile.TemporaryDirectory() as tmp:
            cwd = os.getcwd()
            old_tmp = os.environ.get("TMPDIR")
            os.environ["TMPDIR"] = tmp
            tempfile.tempdir = None
            os.chdir(tmp)
            try:
                tessera.from_torch(m, torch.zeros(1, 1, 12, 12, dtype=torch.float64))
                self.assertEqual(os.listdir(tmp), [])
            finally:
                os.chdir(cwd)
                if old_tmp is None:
                    del os.environ["TMPDIR"]
                else:
                    os.environ["TMPDIR"] = old_tmp
                tempfile.tempdir = None
        self.assertTrue(m.training)
        self.assertFalse(m[0].training)
        self.assertTrue(m[3].training)

    def test_unsupported_operator_raises(self):
        m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
        with self.assertRaises(tessera.Error) as e:
            tessera.from_torch(m, torch.zeros(1, 3), name="tanh-model")
        self.assertIn("tanh-model", str(e.exception))
        self.assertIn("Tanh", str(e.exception))


if __name__ == "__main__":
    unittest.main()
