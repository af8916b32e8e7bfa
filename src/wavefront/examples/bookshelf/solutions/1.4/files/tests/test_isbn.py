import unittest

from bookshelf.isbn import is_isbn10, is_isbn13, normalize_isbn
from bookshelf.models import InvalidBook


class IsbnTest(unittest.TestCase):
    def test_checks(self):
        cases = [
            ("0-441-17271-7", True, False),
            ("0441172717", True, False),
            ("0-8044-2957-X", True, False),
            ("978-0-441-17271-9", False, True),
            ("9780441172719", False, True),
            ("0441172718", False, False),
            ("9780441172710", False, False),
            ("12345", False, False),
        ]
        for raw, ten, thirteen in cases:
            with self.subTest(raw=raw):
                self.assertEqual(is_isbn10(raw), ten)
                self.assertEqual(is_isbn13(raw), thirteen)

    def test_normalize(self):
        self.assertEqual(normalize_isbn("0-441-17271-7"), "9780441172719")
        self.assertEqual(normalize_isbn(" 978 0 441 17271 9 "), "9780441172719")
        self.assertEqual(normalize_isbn("080442957x"), "9780804429573")

    def test_invalid(self):
        with self.assertRaisesRegex(InvalidBook, "not a valid ISBN"):
            normalize_isbn("0441172718")


if __name__ == "__main__":
    unittest.main()
