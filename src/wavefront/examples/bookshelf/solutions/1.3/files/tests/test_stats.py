import unittest

from bookshelf.models import Book
from bookshelf.stats import format_stats, shelf_stats

BOOKS = [
    Book("Dune", "Frank Herbert", "read", rating=5, pages=412, finished="2023-03-01"),
    Book("Dune Messiah", "Frank Herbert", "read", rating=3, pages=256, finished="2024-01-09"),
    Book("Emma", "Jane Austen", "reading", pages=474),
    Book("Persuasion", "Jane Austen", "read", finished="2024-06-30"),
    Book("Ulysses", "James Joyce", "abandoned", rating=2),
]


class StatsTest(unittest.TestCase):
    def test_counts_and_sums(self):
        stats = shelf_stats(BOOKS, top=2)
        self.assertEqual(stats.total, 5)
        self.assertEqual(stats.by_status, {"to-read": 0, "reading": 1, "read": 3, "abandoned": 1})
        self.assertEqual(stats.average_rating, 3.33)
        self.assertEqual(stats.pages_read, 412 + 256)
        self.assertEqual(stats.read_per_year, {"2023": 1, "2024": 2})
        self.assertEqual(stats.top_authors, [("Frank Herbert", 2), ("Jane Austen", 2)])

    def test_empty_shelf(self):
        stats = shelf_stats([])
        self.assertEqual(stats.total, 0)
        self.assertIsNone(stats.average_rating)
        self.assertIn("average rating: -", format_stats(stats))
        self.assertNotIn("top authors", format_stats(stats))

    def test_format(self):
        text = format_stats(shelf_stats(BOOKS))
        self.assertIn("books: 5", text)
        self.assertIn("read per year: 2023 1, 2024 2", text)
        self.assertIn("top authors: Frank Herbert (2), Jane Austen (2), James Joyce (1)", text)


if __name__ == "__main__":
    unittest.main()
