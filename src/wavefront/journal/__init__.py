"""The journal: the SQLite database that is the only source of truth for a run."""
