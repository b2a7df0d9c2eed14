"""The app in process for a benchmark: a fresh database, migrated, the demo rules loaded, a till's key."""

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from bench.databases import recreate_postgres
from config import ProductionConfig
from loyalty import create_app

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class InProcess:
    url: str
    app: Flask
    client: FlaskClient
    key: str

    def headers(self) -> dict:
        """A till's headers, with a new Idempotency-Key each time."""
        return {"Authorization": f"Bearer {self.key}", "Idempotency-Key": uuid.uuid4().hex}


def start(url: str | None, name: str) -> InProcess:
    """``url``: a PostgreSQL database to drop and create afresh; None: a temporary SQLite file ``name``.db."""
    url = recreate_postgres(url) if url else f"sqlite:///{tempfile.mkdtemp()}/{name}.db"
    app = create_app(ProductionConfig, SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
    runner = app.test_cli_runner()
    runner.invoke(args=["rules", "load", str(ROOT / "rules")])
    key = runner.invoke(args=["keys", "create", "--name", f"bench-{uuid.uuid4().hex[:6]}", "--scope", "pos"]
                        ).stdout.strip().splitlines()[-1]
    return InProcess(url, app, app.test_client(), key)
