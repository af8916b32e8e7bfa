import unittest

from bookshelf.models import Book, InvalidBook
from bookshelf.tags import add_tags, normalize_tag, parse_tags, remove_tags, tag_counts


class TagTest(unittest.TestCase):
    def test_normalize(self):
        cases = [
            ("sci-fi", "sci-fi"),
            ("Sci Fi", "sci-fi"),
            ("  SCI_FI ", "sci-fi"),
            ("to--read", "to-read"),
            ("2024", "2024"),
        ]
        for raw, expected in cases:
            with self.subTest(raw=raw):
                self.assertEqual(normalize_tag(raw), expected)

    def test_bad_tags_are_rejected(self):
        for raw in ["", "   ", "c++", "#classic", "---"]:
            with self.subTest(raw=raw), self.assertRaises(InvalidBook):
                normalize_tag(raw)

    def test_parse_tags(self):
        self.assertEqual(parse_tags("Classic, sci fi,, classic "), ("classic", "sci-fi"))
        self.assertEqual(parse_tags(""), ())

    def test_add_and_remove(self):
        book = Book("Dune", "Frank Herbert", tags=("sci-fi",))
        book = add_tags(book, ["Classic", "sci-fi"])
        self.assertEqual(book.tags, ("classic", "sci-fi"))
        self.assertEqual(remove_tags(book, ["SCI FI", "absent"]).tags, ("classic",))

    def test_tag_counts(self):
        books = [
            Book("A", "X", tags=("b", "a")),
            Book("B", "X", tags=("a",)),
            Book("C", "X", tags=("c",)),
        ]
        self.assertEqual(tag_counts(books), [("a", 2), ("b", 1), ("c", 1)])


if __name__ == "__main__":
    unittest.main()
