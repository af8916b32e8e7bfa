import datetime
import unittest

from bookshelf.models import STATUSES, Book, BookshelfError, InvalidBook


class BookTest(unittest.TestCase):
    def test_defaults(self):
        book = Book("Dune", "Frank Herbert")
        self.assertEqual(book.status, "to-read")
        self.assertEqual(book.tags, ())
        self.assertIsNone(book.id)

    def test_invalid_values_are_rejected(self):
        cases = [
            ({"title": " ", "author": "A"}, "title"),
            ({"title": "T", "author": ""}, "author"),
            ({"title": "T", "author": "A", "status": "done"}, "status"),
            ({"title": "T", "author": "A", "rating": 6}, "rating"),
            ({"title": "T", "author": "A", "rating": 0}, "rating"),
            ({"title": "T", "author": "A", "pages": 0}, "pages"),
            ({"title": "T", "author": "A", "finished": "31/05/2024"}, "finished"),
        ]
        for values, word in cases:
            with self.subTest(values=values):
                with self.assertRaises(InvalidBook) as caught:
                    Book(**values)
                self.assertIn(word, str(caught.exception))

    def test_invalid_book_is_a_bookshelf_error_and_a_value_error(self):
        self.assertTrue(issubclass(InvalidBook, BookshelfError))
        self.assertTrue(issubclass(InvalidBook, ValueError))

    def test_finishing_records_the_date(self):
        book = Book("Dune", "Frank Herbert").with_status("read", datetime.date(2024, 5, 31))
        self.assertEqual((book.status, book.finished), ("read", "2024-05-31"))
        self.assertEqual(book.with_status("reading").status, "reading")

    def test_dict_round_trip(self):
        book = Book("Dune", "Frank Herbert", "read", ("sci-fi",), 5, None, 412, "2024-01-02", 7)
        data = book.to_dict()
        self.assertEqual(data["tags"], ["sci-fi"])
        again = Book.from_dict(data)
        self.assertEqual(again, book)
        self.assertEqual(again.id, 7)

    def test_from_dict_names_unknown_and_missing_fields(self):
        with self.assertRaisesRegex(InvalidBook, "colour"):
            Book.from_dict({"title": "T", "author": "A", "colour": "red"})
        with self.assertRaisesRegex(InvalidBook, "author"):
            Book.from_dict({"title": "T"})

    def test_statuses(self):
        self.assertEqual(STATUSES, ("to-read", "reading", "read", "abandoned"))


if __name__ == "__main__":
    unittest.main()
