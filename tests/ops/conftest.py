"""Fixtures for the operations tests: webhook receivers on 127.0.0.1."""

import pytest
from pytest_httpserver import HTTPServer

from tests.ops.receivers import Receiver


def _receiver():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield Receiver(server)
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def receiver():
    yield from _receiver()


@pytest.fixture
def second_receiver():
    yield from _receiver()
