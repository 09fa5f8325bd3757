"""Batch certify equals one call per input; arrays in any layout and dtype
give the same answer; float64 C-ordered arrays are not copied."""
import unittest

import numpy as np

import tessera
from _support import model


class BatchCertify(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = tessera.load(model("trained/mnist_ceda.onnx"))
        cls.X = tessera.uniform_noise(cls.net, 24, seed=5)

    def test_batch_equals_single_calls(self):
        batch = tessera.certify(self.net, self.X)
        self.assertIsInstance(batch, tessera.CertifySet)
        self.assertEqual(batch.requested, 24)
        self.assertTrue(batch.set_complete)
        self.assertEqual(len(batch.certificates), 24)
        for i, c in enumerate(batch.certificates):
            self.assertEqual(c.input_index, i)
            one = tessera.certify(self.net, self.X[i]).to_dict()
            self.assertIsInstance(tessera.certify(self.net, self.X[i]), tessera.Certificate)
            self.assertEqual(c.to_dict(), {"input_index": i, **{k: v for k, v in one.items()
                                                                if k not in ("model", "threshold", "box")}})

    def test_threads_do_not_change_the_result(self):
        one = tessera.certify(self.net, self.X, threads=1).to_dict()
        self.assertEqual(one, tessera.certify(self.net, self.X, threads=0).to_dict())
        self.assertEqual(one, tessera.certify(self.net, self.X, threads=2).to_dict())

    def test_layouts_and_dtypes(self):
        want = tessera.certify(self.net, self.X).to_dict()
        images = self.X.reshape(24, 1, 28, 28)
        self.assertEqual(tessera.certify(self.net, images).to_dict(), want)
        self.assertEqual(tessera.certify(self.net, np.asfortranarray(self.X)).to_dict(), want)
        self.assertEqual(tessera.certify(self.net, self.X.tolist()).to_dict(), want)
        # float32 rounds the inputs: same shape of answer, close numbers.
        f32 = tessera.certify(self.net, self.X.astype(np.float32))
        self.assertEqual(f32.requested, 24)
        try:
            import torch
        except ImportError:
            return
        self.assertEqual(tessera.certify(self.net, torch.from_numpy(self.X.copy())).to_dict(), want)

    def test_no_copy_for_float64_c_order(self):
        X = np.ascontiguousarray(self.X)
        self.assertEqual(tessera._tessera._data_address(X), X.__array_interface__["data"][0])
        F = np.asfortranarray(self.X)
        self.assertNotEqual(tessera._tessera._data_address(F), F.__array_interface__["data"][0])

    def test_a_set_of_one(self):
        # A leading batch dimension makes a set, however many rows: a loop
        # over chunks gets a CertifySet for its last chunk of one too.
        for X in (self.X[:1], self.X[:1].reshape(1, 1, 28, 28)):
            s = tessera.certify(self.net, X)
            self.assertIsInstance(s, tessera.CertifySet)
            self.assertEqual(s.requested, 1)
        s = tessera.certify(self.net, self.X[0], batch=True)
        self.assertIsInstance(s, tessera.CertifySet)
        self.assertEqual(s.requested, 1)
        for x in (self.X[0], self.X[0].reshape(1, 28, 28), self.X[0].reshape(28, 28)):
            self.assertIsInstance(tessera.certify(self.net, x), tessera.Certificate)
        self.assertIsInstance(tessera.certify(self.net, self.X[:1], batch=False), tessera.Certificate)

    def test_uniform_noise_matches_the_box(self):
        X = tessera.uniform_noise(self.net, 500, seed=2, box=(-2, 3))
        self.assertEqual(X.shape, (500, 784))
        self.assertTrue(X.flags["C_CONTIGUOUS"])
        self.assertGreaterEqual(X.min(), -2)
        self.assertLessEqual(X.max(), 3)
        self.assertTrue(np.array_equal(X, tessera.uniform_noise(self.net, 500, seed=2, box=(-2, 3))))
        self.assertFalse(np.array_equal(X, tessera.uniform_noise(self.net, 500, seed=3, box=(-2, 3))))


class ResultObjects(unittest.TestCase):
    def test_fields_arrays_and_dict(self):
        net = tessera.load(model("toy2d.onnx"))
        r = tessera.affine(net, [0.5, -0.25])
        self.assertEqual(r.V.shape, (3, 2))
        self.assertEqual(r.a.shape, (3,))
        self.assertEqual(r["predicted_class"], r.predicted_class)
        self.assertIn("pattern_hash", r)
        self.assertEqual(r.layers[0].name, "relu1")
        np.testing.assert_allclose(r.V @ np.array([0.5, -0.25]) + r.a, r.logits, atol=1e-12)
        with self.assertRaises(AttributeError):
            r.V = None
        s = tessera.slice(net, [0, 0], [1, 0], [0, 1], window=(-3, 3, -3, 3))
        self.assertEqual(s.polygons[0].vertices.shape[1], 2)
        self.assertIsInstance(s.polygons[0].class_, int)
        self.assertIn("class", s.polygons[0].to_dict())
        self.assertAlmostEqual(sum(p.area for p in s.polygons), 36.0, places=9)
        t = tessera.ray(net, [0.5, -0.25])
        self.assertIsNone(t.segments[-1].t_end)  # infinity, as JSON null
        empty = tessera.slice(net, [5, 5], [1, 0], [0, 1], window=(0, 0.001, 0, 0.001))
        self.assertEqual(np.asarray(empty.decision_boundary).shape[1:], (2, 2))
        self.assertEqual(empty.to_dict()["decision_boundary"], [])
        self.assertIn("RayResult", repr(t))


if __name__ == "__main__":
    unittest.main()
