"""API keys are checked without a timing side channel.

Comparing a presented key with a stored one byte by byte answers faster the
earlier they differ, which lets an attacker guess a key a character at a
time. Here nothing compares the key itself: the database is asked for the
SHA-256 of what was presented (an attacker cannot steer a digest's bytes, so
how long that lookup takes says nothing about the key), and the row found is
checked once more with ``hmac.compare_digest``. No timing is measured: the
test proves the mechanism, which is what makes the timing meaningless.
"""

import hashlib
import hmac

import pytest
from sqlalchemy import event

from loyalty.extensions import db
from loyalty.services import api_keys


@pytest.fixture
def statements(app):
    """Every SQL statement the app sends, with its parameters, as text."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        seen.append(f"{statement} {parameters!r}")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def near_miss(key: str) -> str:
    """The real key with only its last character changed: the longest prefix an attacker could have."""
    return key[:-1] + ("A" if key[-1] != "A" else "B")


def test_the_database_is_asked_for_the_digest_never_the_key(app, pos_key, statements, db_backend):
    guess = near_miss(pos_key)
    client = app.test_client()
    assert client.get("/v1/members", headers={"Authorization": f"Bearer {guess}"}).status_code == 401
    assert client.get("/v1/members", headers={"Authorization": f"Bearer {pos_key}"}).status_code == 200
    sent = "\n".join(statements)
    for secret in (guess, pos_key):
        assert secret not in sent
        assert hashlib.sha256(secret.encode()).hexdigest() in sent


def test_the_row_found_is_confirmed_with_a_constant_time_comparison(app, pos_key, monkeypatch, db_backend):
    compared: list[tuple] = []
    constant_time = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", spy)
    client = app.test_client()
    assert client.get("/v1/members", headers={"Authorization": f"Bearer {pos_key}"}).status_code == 200
    digest = hashlib.sha256(pos_key.encode()).hexdigest()
    assert compared == [(digest, digest)]
    assert client.get("/v1/members", headers={"Authorization": f"Bearer {near_miss(pos_key)}"}).status_code == 401
