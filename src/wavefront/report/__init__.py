"""Reporting from the journal: live progress, summary and status, report.md, state files."""
