import csv
import io
import unittest

from bookshelf.csvexport import COLUMNS, export_csv
from bookshelf.models import Book


class ExportTest(unittest.TestCase):
    def test_header_and_rows(self):
        out = io.StringIO()
        books = [
            Book(
                "Dune", "Frank Herbert", "read", ("classic", "sci-fi"), 5, None, 412, "2024-01-02"
            ),
            Book("Emma, a Novel", "Jane Austen"),
        ]
        self.assertEqual(export_csv(books, out), 2)
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        self.assertEqual(tuple(rows[0]), COLUMNS)
        self.assertEqual(rows[0]["tags"], "classic;sci-fi")
        self.assertEqual(rows[0]["pages"], "412")
        self.assertEqual(rows[1]["title"], "Emma, a Novel")
        self.assertEqual(rows[1]["rating"], "")

    def test_empty_shelf_still_has_a_header(self):
        out = io.StringIO()
        self.assertEqual(export_csv([], out), 0)
        self.assertEqual(out.getvalue(), ",".join(COLUMNS) + "\n")


if __name__ == "__main__":
    unittest.main()
