import io
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from bookshelf.cli import main

PROJECT = Path(__file__).resolve().parents[1]


class CliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.shelf = str(Path(self.dir.name) / "books.json")

    def run_cli(self, *args):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--shelf", self.shelf, *args], out, err)
        return code, out.getvalue(), err.getvalue()

    def test_add_list_show(self):
        code, out, _ = self.run_cli("add", "Dune", "Frank Herbert", "--tags", "Sci Fi,classic")
        self.assertEqual((code, out), (0, "added #1: Dune by Frank Herbert\n"))
        self.run_cli("add", "Emma", "Jane Austen", "--status", "read", "--rating", "4")
        code, out, _ = self.run_cli("list")
        self.assertEqual(code, 0)
        self.assertIn("Dune by Frank Herbert  [classic, sci-fi]", out)
        self.assertIn("read       Emma by Jane Austen  ****", out)
        _, out, _ = self.run_cli("list", "--status", "to-read")
        self.assertNotIn("Emma", out)
        _, out, _ = self.run_cli("show", "2")
        self.assertIn("finished: ", out)
        self.assertIn("  rating: 4", out)

    def test_status_and_remove(self):
        self.run_cli("add", "Dune", "Frank Herbert")
        self.assertEqual(self.run_cli("status", "1", "reading")[0], 0)
        books = json.loads(Path(self.shelf).read_text(encoding="utf-8"))["books"]
        self.assertEqual(books[0]["status"], "reading")
        code, out, _ = self.run_cli("remove", "1")
        self.assertEqual((code, out), (0, "removed #1: Dune\n"))
        self.assertEqual(self.run_cli("list")[1], "no books\n")

    def test_errors_are_messages(self):
        code, out, err = self.run_cli("remove", "7")
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, "bookshelf: error: no book with id 7\n")
        code, _, err = self.run_cli("add", "Dune", "Frank Herbert", "--rating", "9")
        self.assertEqual(code, 1)
        self.assertIn("rating must be 1 to 5", err)

    def test_bad_usage_exits_2(self):
        with (
            self.assertRaises(SystemExit) as caught,
            mock.patch("sys.stderr", new_callable=io.StringIO),
        ):
            self.run_cli("status", "1", "finished")
        self.assertEqual(caught.exception.code, 2)

    def test_python_dash_m(self):
        result = subprocess.run(
            [sys.executable, "-m", "bookshelf", "--shelf", self.shelf, "add", "Dune", "F. H."],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "added #1: Dune by F. H.\n")


if __name__ == "__main__":
    unittest.main()
