"""Fixtures for the concurrency tests; the helpers themselves live in ``racing.py``."""

import pytest

from tests.concurrency.racing import run_together


@pytest.fixture
def race(app, pos_key):
    """``race(calls)`` runs each call in its own thread with the POS key; ``key=`` for another."""

    def run(calls, key=None):
        return run_together(app, key or pos_key, calls)

    return run
