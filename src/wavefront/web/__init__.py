"""The dashboard (`wavefront serve`, the `[web]` extra): a local web app over the journal.

It reads the journal only, pushes the journal's events to the browser as server-sent
events, and acts (approve, reject, retry, cancel) through the same `wavefront.runs` calls as
the CLI. Nothing here is imported by `wavefront --help`: the CLI imports it when `serve` runs.
"""

from __future__ import annotations

from wavefront.web.app import create_app

__all__ = ["create_app"]
