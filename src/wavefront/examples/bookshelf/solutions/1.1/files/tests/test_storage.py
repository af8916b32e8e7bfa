import json
import tempfile
import unittest
from pathlib import Path

from bookshelf.models import Book
from bookshelf.storage import Shelf, StorageError, UnknownBook


class ShelfTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.path = Path(self.dir.name) / "shelf.json"

    def test_missing_file_is_an_empty_shelf(self):
        shelf = Shelf(self.path)
        self.assertEqual(shelf.books(), [])
        self.assertFalse(self.path.exists())

    def test_books_survive_a_reload(self):
        shelf = Shelf(self.path)
        dune = shelf.add(Book("Dune", "Frank Herbert", tags=("sci-fi",)))
        emma = shelf.add(Book("Emma", "Jane Austen"))
        self.assertEqual((dune.id, emma.id), (1, 2))
        again = Shelf(self.path)
        self.assertEqual([b.title for b in again.books()], ["Dune", "Emma"])
        self.assertEqual(again.get(1).tags, ("sci-fi",))

    def test_update_and_remove(self):
        shelf = Shelf(self.path)
        book = shelf.add(Book("Dune", "Frank Herbert"))
        shelf.update(book.with_status("reading"))
        self.assertEqual(Shelf(self.path).get(book.id).status, "reading")
        shelf.remove(book.id)
        self.assertEqual(len(Shelf(self.path)), 0)

    def test_next_id_follows_the_highest_stored_id(self):
        shelf = Shelf(self.path)
        first = shelf.add(Book("A", "X"))
        shelf.add(Book("B", "Y"))
        shelf.remove(first.id)
        self.assertEqual(shelf.add(Book("C", "Z")).id, 3)

    def test_unknown_id(self):
        shelf = Shelf(self.path)
        with self.assertRaisesRegex(UnknownBook, "no book with id 9"):
            shelf.get(9)
        with self.assertRaises(UnknownBook):
            shelf.remove(9)

    def test_bad_files_name_the_file_and_the_problem(self):
        cases = [
            ("{not json", "not valid JSON"),
            ("[]", '"books" list'),
            ('{"version": 9, "books": []}', "format 9"),
            ('{"version": 1, "books": [{"title": "T"}]}', "book #1"),
            ('{"version": 1, "books": [{"title": "T", "author": "A"}]}', "has no id"),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                self.path.write_text(text, encoding="utf-8")
                with self.assertRaises(StorageError) as caught:
                    Shelf(self.path)
                self.assertIn(str(self.path), str(caught.exception))
                self.assertIn(expected, str(caught.exception))

    def test_file_format(self):
        Shelf(self.path).add(Book("Dune", "Frank Herbert"))
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self.assertEqual(data["version"], 1)
        self.assertEqual(data["books"][0]["title"], "Dune")
        self.assertEqual([p.name for p in self.path.parent.iterdir()], ["shelf.json"])


if __name__ == "__main__":
    unittest.main()
