import io
import unittest

from bookshelf.csvexport import export_csv
from bookshelf.csvimport import CsvImportError, import_csv
from bookshelf.models import Book


def read(text):
    return import_csv(io.StringIO(text))


class ImportTest(unittest.TestCase):
    def test_round_trip(self):
        books = [
            Book(
                "Dune",
                "Frank Herbert",
                "read",
                ("classic", "sci-fi"),
                5,
                "9780441172719",
                412,
                "2024-01-02",
            ),
            Book("Emma, a Novel", "Jane Austen"),
        ]
        out = io.StringIO()
        export_csv(books, out)
        self.assertEqual(read(out.getvalue()), books)

    def test_minimal_columns_and_cleanup(self):
        books = read("title,author,tags,isbn\nDune , Frank Herbert,Sci Fi; classic,0-441-17271-7\n")
        self.assertEqual(books[0].title, "Dune")
        self.assertEqual(books[0].tags, ("classic", "sci-fi"))
        self.assertEqual(books[0].isbn, "9780441172719")
        self.assertEqual(books[0].status, "to-read")

    def test_bad_rows_name_their_line(self):
        header = "title,author,status,rating,isbn,pages\n"
        good = "Dune,Frank Herbert,read,5,,412\n"
        cases = [
            (",Frank Herbert,read,5,,\n", "line 3: title is empty"),
            ("Emma,,read,,,\n", "line 3: author is empty"),
            ("Emma,Jane Austen,read,7,,\n", "line 3: rating must be 1 to 5"),
            ("Emma,Jane Austen,read,five,,\n", "line 3: rating must be a whole number"),
            ("Emma,Jane Austen,done,,,\n", "line 3: status 'done'"),
            ("Emma,Jane Austen,read,,0441172718,\n", "line 3: '0441172718' is not a valid ISBN"),
            ("Emma,Jane Austen,read,,,-3\n", "line 3: pages must be positive"),
        ]
        for row, message in cases:
            with self.subTest(row=row):
                with self.assertRaises(CsvImportError) as caught:
                    read(header + good + row)
                self.assertIn(message, str(caught.exception))

    def test_bad_headers(self):
        with self.assertRaisesRegex(CsvImportError, "line 1: header lacks column\\(s\\) author"):
            read("title\nDune\n")
        with self.assertRaisesRegex(CsvImportError, "line 1: unknown column\\(s\\) colour"):
            read("title,author,colour\nDune,Frank Herbert,red\n")
        with self.assertRaisesRegex(CsvImportError, "lacks column\\(s\\) title, author"):
            read("")


if __name__ == "__main__":
    unittest.main()
