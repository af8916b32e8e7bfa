"""Executors that run agent attempts away from this machine (the `ray` extra)."""
