import unittest

from bookshelf.models import Book, InvalidBook
from bookshelf.search import search

BOOKS = [
    Book("Emma", "Jane Austen", "read", ("classic",), rating=4),
    Book("Dune", "Frank Herbert", "reading", ("sci-fi", "classic"), rating=5),
    Book("Dune Messiah", "Frank Herbert", "to-read", ("sci-fi",)),
    Book("Neuromancer", "William Gibson", "read", ("sci-fi", "cyberpunk"), rating=3),
]


def titles(books):
    return [book.title for book in books]


class SearchTest(unittest.TestCase):
    def test_filters(self):
        cases = [
            ({"text": "dune"}, ["Dune", "Dune Messiah"]),
            ({"text": "HERBERT messiah"}, ["Dune Messiah"]),
            ({"text": "austen"}, ["Emma"]),
            ({"tag": "Sci Fi"}, ["Dune", "Dune Messiah", "Neuromancer"]),
            ({"tag": "sci-fi", "status": "read"}, ["Neuromancer"]),
            ({"min_rating": 4}, ["Dune", "Emma"]),
            ({"text": "dune", "tag": "classic"}, ["Dune"]),
            ({"text": "tolstoy"}, []),
            ({}, ["Dune", "Dune Messiah", "Emma", "Neuromancer"]),
        ]
        for filters, expected in cases:
            with self.subTest(filters=filters):
                self.assertEqual(titles(search(BOOKS, **filters)), expected)

    def test_unknown_status_is_an_error(self):
        with self.assertRaisesRegex(InvalidBook, "finished"):
            search(BOOKS, status="finished")


if __name__ == "__main__":
    unittest.main()
