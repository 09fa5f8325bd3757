"""`cmake --install BUILD --component python` installs a module that imports
from the prefix alone (no build tree on the path)."""
import os
import subprocess
import sys
import tempfile
import unittest

BUILD = os.environ.get("TESSERA_BUILD_DIR", "")


@unittest.skipUnless(BUILD, "TESSERA_BUILD_DIR is not set")
class Install(unittest.TestCase):
    def test_install_and_import(self):
        with tempfile.TemporaryDirectory() as prefix:
            subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix, "--component", "python"], check=True,
                           capture_output=True)
            found = [root for root, _, files in os.walk(prefix) if "__init__.py" in files]
            self.assertEqual(len(found), 1, found)
            site = os.path.dirname(found[0])
            self.assertTrue(site.startswith(os.path.join(prefix, "lib")), site)
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env["PYTHONPATH"] = site
            model = os.path.join(os.environ.get("TESSERA_SOURCE_DIR", "."), "data", "models", "toy2d.onnx")
            out = subprocess.run([sys.executable, "-c",
                                  "import tessera, sys; n = tessera.load(sys.argv[1]); "
                                  "print(tessera.__file__); print(tessera.certify(n, [0.5, -0.25]).limit_class)", model],
                                 env=env, cwd=prefix, capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stderr)
            lines = out.stdout.split()
            self.assertTrue(lines[0].startswith(site), lines[0])
            self.assertEqual(lines[1], "0")


if __name__ == "__main__":
    unittest.main()
