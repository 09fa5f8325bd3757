"""Ctrl-C (SIGINT) interrupts a long call within a second with
KeyboardInterrupt; time_limit returns the partial result, marked; the next
call works."""
import signal
import threading
import time
import unittest

import numpy as np

import tessera
from _support import inputs, model


def long_slice_args():
    net = tessera.load(model("mnist_cnn.onnx"))
    x = tessera.read_input(net, inputs("seven.pgm"))
    rng = np.random.default_rng(0)
    return net, x, rng.standard_normal(784), rng.standard_normal(784)


class Interrupt(unittest.TestCase):
    def setUp(self):
        # A process started in the background may inherit SIGINT as ignored:
        # give it Python's usual handler for these tests.
        self.old_handler = signal.signal(signal.SIGINT, signal.default_int_handler)

    def tearDown(self):
        signal.signal(signal.SIGINT, self.old_handler)

    def interrupt_slice(self, **kwargs):
        net, x, e1, e2 = long_slice_args()
        timer = threading.Timer(0.5, signal.raise_signal, (signal.SIGINT,))
        start = time.monotonic()
        timer.start()
        try:
            with self.assertRaises(KeyboardInterrupt):
                tessera.slice(net, x, e1, e2, window=(-40, 40, -40, 40), **kwargs)
        finally:
            timer.cancel()
        # Generous (the machine may be busy): the library checks its flag often.
        self.assertLess(time.monotonic() - start, 0.5 + 5.0)
        # The module still works, and the next call is not cancelled.
        toy = tessera.load(model("toy2d.onnx"))
        self.assertTrue(tessera.ray(toy, [0.5, -0.25]).complete)
        self.assertTrue(tessera.slice(toy, [0, 0], [1, 0], [0, 1], window=(-3, 3, -3, 3)).complete)

    def test_ctrl_c_in_the_calling_thread(self):
        # Main thread, no time limit: the work runs inline under a chained SIGINT handler.
        self.interrupt_slice()

    def test_ctrl_c_with_a_worker_thread(self):
        # With a time limit the work runs in a worker thread polled every 20 ms
        # (the limit is also a backstop: a lost signal fails instead of hanging).
        self.interrupt_slice(time_limit=60)

    def test_ctrl_c_from_another_python_thread_is_not_seen_there(self):
        # A call from a non-main thread runs in a worker; it ends normally.
        net = tessera.load(model("toy2d.onnx"))
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", tessera.ray(net, [0.5, -0.25])))
        t.start()
        t.join()
        self.assertTrue(out["r"].complete)

    def test_time_limit_returns_a_marked_partial_result(self):
        net, x, e1, e2 = long_slice_args()
        s = tessera.slice(net, x, e1, e2, window=(-40, 40, -40, 40), time_limit=0.3)
        self.assertFalse(s.complete)
        self.assertTrue(s.stop_reason.startswith("time limit of 0.3 s reached (time_limit)"), s.stop_reason)
        X = tessera.uniform_noise(net, 2000, seed=1)
        c = tessera.certify(net, X, time_limit=0.3, full=True)
        self.assertFalse(c.set_complete)
        self.assertLess(len(c.certificates), 2000)
        self.assertIn("time limit of 0.3 s reached", c.stop_reason)
        self.assertEqual(c.summary.count, len(c.certificates))


if __name__ == "__main__":
    unittest.main()
