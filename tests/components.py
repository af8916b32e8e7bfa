"""Tests of an optional component (a browser, an agent CLI, bubblewrap, Ray) call `need`.

On a user's machine a missing component skips its tests with the reason; in CI
(`CI=true`), where `scripts/test-all` installs every component, it fails them instead, so
a green CI proves every part.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(available: bool, reason: str) -> None:
    """Skip (or, in CI, fail) the calling test unless `available`; `reason` says what is
    missing and how to get it."""
    if available:
        return
    if in_ci():
        pytest.fail(f"CI must have every component: {reason}", pytrace=False)
    pytest.skip(reason)
