import io
import tempfile
import unittest
from pathlib import Path

from bookshelf.cli import main
from bookshelf.storage import Shelf


class TransferCommandsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.root = Path(self.dir.name)
        self.shelf = str(self.root / "books.json")

    def run_cli(self, *args, shelf=None):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--shelf", shelf or self.shelf, *args], out, err)
        return code, out.getvalue(), err.getvalue()

    def test_export_then_import_into_another_shelf(self):
        self.run_cli("add", "Dune", "Frank Herbert", "--tags", "sci-fi", "--rating", "5")
        self.run_cli("add", "Emma", "Jane Austen", "--status", "read")
        csv_path = str(self.root / "out.csv")
        self.assertEqual(self.run_cli("export", csv_path)[1], f"exported 2 books to {csv_path}\n")
        other = str(self.root / "other.json")
        code, out, _ = self.run_cli("import", csv_path, shelf=other)
        self.assertEqual((code, out), (0, "imported 2 books, skipped 0 already on the shelf\n"))
        self.assertEqual(Shelf(other).books(), Shelf(self.shelf).books())

    def test_export_to_stdout(self):
        self.run_cli("add", "Dune", "Frank Herbert")
        _, out, _ = self.run_cli("export")
        self.assertEqual(out.splitlines()[1], "Dune,Frank Herbert,to-read,,,,,")

    def test_import_skips_books_already_there(self):
        self.run_cli("add", "Dune", "Frank Herbert")
        csv_path = self.root / "in.csv"
        csv_path.write_text(
            "title,author\ndune,frank herbert\nEmma,Jane Austen\nEmma,Jane Austen\n"
        )
        code, out, _ = self.run_cli("import", str(csv_path), "--dry-run")
        self.assertEqual(code, 0)
        self.assertEqual(out, "would import 1 books, skipped 2 already on the shelf\n")
        self.assertEqual(len(Shelf(self.shelf)), 1)
        self.run_cli("import", str(csv_path))
        self.assertEqual([b.title for b in Shelf(self.shelf).books()], ["Dune", "Emma"])

    def test_bad_file_names_file_and_line_and_changes_nothing(self):
        csv_path = self.root / "bad.csv"
        csv_path.write_text("title,author,rating\nDune,Frank Herbert,5\nEmma,Jane Austen,9\n")
        code, _, err = self.run_cli("import", str(csv_path))
        self.assertEqual(code, 1)
        self.assertIn(f"{csv_path}: line 3: rating must be 1 to 5", err)
        self.assertEqual(len(Shelf(self.shelf)), 0)
        code, _, err = self.run_cli("import", str(self.root / "missing.csv"))
        self.assertEqual(code, 1)
        self.assertIn("cannot read", err)


if __name__ == "__main__":
    unittest.main()
