"""bookshelf: a reading list kept in a JSON file, with tags, search, stats and CSV."""

__version__ = "0.1.0"
