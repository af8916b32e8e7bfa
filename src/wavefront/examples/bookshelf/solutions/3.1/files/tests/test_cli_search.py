import io
import tempfile
import unittest
from pathlib import Path

from bookshelf.cli import main


class SearchCommandsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.shelf = str(Path(self.dir.name) / "books.json")
        self.run_cli("add", "Dune", "Frank Herbert", "--tags", "sci-fi,classic", "--rating", "5")
        self.run_cli("add", "Dune Messiah", "Frank Herbert", "--tags", "sci-fi")
        self.run_cli("add", "Emma", "Jane Austen", "--tags", "classic", "--status", "read")

    def run_cli(self, *args):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--shelf", self.shelf, *args], out, err)
        return code, out.getvalue(), err.getvalue()

    def test_search(self):
        cases = [
            (["dune"], ["Dune by", "Dune Messiah by"], "2 found"),
            (["--tag", "classic"], ["Dune by", "Emma by"], "2 found"),
            (["herbert", "--min-rating", "4"], ["Dune by"], "1 found"),
            (["--status", "read"], ["Emma by"], "1 found"),
        ]
        for args, expected, summary in cases:
            with self.subTest(args=args):
                code, out, _ = self.run_cli("search", *args)
                lines = out.splitlines()
                self.assertEqual(code, 0)
                self.assertEqual(lines[-1], summary)
                self.assertEqual(len(lines) - 1, len(expected))
                for line, title in zip(lines, expected, strict=False):
                    self.assertIn(title, line)

    def test_search_without_hits_exits_1(self):
        self.assertEqual(self.run_cli("search", "tolstoy")[:2], (1, "0 found\n"))

    def test_tag_and_untag(self):
        code, out, _ = self.run_cli("tag", "2", "Space Opera", "favourite")
        self.assertEqual((code, out), (0, "#2 Dune Messiah: favourite, sci-fi, space-opera\n"))
        _, out, _ = self.run_cli("tag", "2", "favourite", "--remove")
        self.assertEqual(out, "#2 Dune Messiah: sci-fi, space-opera\n")
        code, _, err = self.run_cli("tag", "2", "c++")
        self.assertEqual(code, 1)
        self.assertIn("tag 'c++'", err)

    def test_tags(self):
        _, out, _ = self.run_cli("tags")
        self.assertEqual(out, "   2  classic\n   2  sci-fi\n")


if __name__ == "__main__":
    unittest.main()
