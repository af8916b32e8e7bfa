"""Crash-and-resume tooling: the chaos driver, its harness and the invariants it checks."""
