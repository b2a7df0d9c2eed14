"""Fixtures: an app per test on a migrated database, SQLite always, PostgreSQL when configured.

Set ``LOYALTY_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
to run every ``db_backend``-parametrized test on PostgreSQL too; each test
worker gets its own database, created from that URL and migrated once.
"""

import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from config import TestingConfig
from loyalty import create_app
from loyalty.extensions import db

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("LOYALTY_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite", "postgres"]


def pytest_report_header(config):
    if POSTGRES_URL:
        return f"PostgreSQL suite: ON ({sa.engine.make_url(POSTGRES_URL).render_as_string()})"
    return "PostgreSQL suite: SKIPPED (set LOYALTY_TEST_DATABASE_URL to run it)"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _migrate(url: str) -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> str:
    """A fresh, migrated PostgreSQL database for this test worker."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL suite skipped: LOYALTY_TEST_DATABASE_URL is not set")
    server = sa.engine.make_url(POSTGRES_URL)
    # The pid keeps two test runs on one server (and their xdist workers) apart.
    name = f"loyalty_test_{os.getpid()}_{_worker()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = server.set(database=name).render_as_string(hide_password=False)
    _migrate(url)
    yield url
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(request, tmp_path, sqlite_template) -> str:
    backend = request.getfixturevalue("db_backend") if "db_backend" in request.fixturenames else "sqlite"
    if backend == "postgres":
        url = request.getfixturevalue("postgres_database")
        _truncate_postgres(url)
        return url
    path = tmp_path / "loyalty.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        from loyalty.db.transactions import write_transaction
        from loyalty.services import rules as rules_service

        with write_transaction(db.session()):
            rules_service.publish(db.session(), (ROOT / "rules" / "program.yaml").read_text(), "tests")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _create_key(app, name: str, scope: str) -> str:
    from loyalty import clock
    from loyalty.db.transactions import write_transaction
    from loyalty.services import api_keys

    with app.app_context():
        with write_transaction(db.session()):
            _, secret = api_keys.create_key(db.session(), name, scope, clock.now())
        db.session.remove()
    return secret


class ApiClient:
    """The Flask test client with a bearer key and a fresh Idempotency-Key per write."""

    def __init__(self, client, key: str):
        self.client = client
        self.key = key

    def headers(self, key=None, idempotency_key=None, extra=None) -> dict:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        if idempotency_key is not False:
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        headers.update(extra or {})
        return headers

    def get(self, path, key=None, **kwargs):
        return self.client.get(path, headers=self.headers(key, idempotency_key=False), **kwargs)

    def post(self, path, json=None, key=None, idempotency_key=None, **kwargs):
        return self.client.post(path, json=json, headers=self.headers(key, idempotency_key), **kwargs)

    def publish_rules(self, yaml_text: str, note: str = "test") -> dict:
        """PUT /v1/rules as an admin would (no Idempotency-Key), which must publish: the new version."""
        response = self.client.put("/v1/rules", json={"yaml": yaml_text, "note": note},
                                   headers=self.headers(idempotency_key=False))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def patch(self, path, json=None, key=None, **kwargs):
        return self.client.patch(path, json=json, headers=self.headers(key, False), **kwargs)

    def enroll(self, external_id=None, **fields):
        response = self.post("/v1/members", {"external_id": external_id or uuid.uuid4().hex, **fields})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def purchase(self, member_id, amount, items=None, occurred_at=None, **fields):
        body = {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD",
                "source_id": uuid.uuid4().hex, **fields}
        if items is not None:
            body["items"] = items
        if occurred_at is not None:
            body["occurred_at"] = occurred_at
        response = self.post("/v1/events", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def action(self, member_id, action_type, occurred_at=None, **attributes):
        body = {"type": action_type, "member_id": member_id, "attributes": attributes}
        if occurred_at is not None:
            body["occurred_at"] = occurred_at
        response = self.post("/v1/events", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def member(self, member_id):
        response = self.get(f"/v1/members/{member_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def admin_key(app) -> str:
    return _create_key(app, "admin-test", "admin")


@pytest.fixture
def pos_key(app) -> str:
    return _create_key(app, "till-1", "pos")


@pytest.fixture
def api(app, pos_key) -> ApiClient:
    return ApiClient(app.test_client(), pos_key)


@pytest.fixture
def admin_api(app, admin_key) -> ApiClient:
    return ApiClient(app.test_client(), admin_key)


def awarded_by_rule(response_json) -> dict[str, int]:
    return {a["rule_id"]: a["points"] for a in response_json["awarded"]}


CHROMIUM = os.environ.get("LOYALTY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def browser_unavailable(reason: str):
    """Skip on a developer's machine without a browser; in CI a missing browser is a failure."""
    message = f"browser tests: {reason} (run `make browser`)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium per test process, shared by the widget and /admin tests:
    Playwright's sync API allows a single running instance per process."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright package is not installed")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        browser_unavailable(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        # Root (CI, containers) cannot use Chromium's user-namespace sandbox.
        args = (["--no-sandbox"] if os.geteuid() == 0 else []) + ["--disable-dev-shm-usage"]
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield browser
        browser.close()
