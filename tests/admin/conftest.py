"""Fixtures for /admin: a signed-in test client, the app on a real port, and headless Chromium."""

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "admin"


class AdminClient:
    """The Flask test client, signed in to /admin, sending the CSRF token with every form."""

    def __init__(self, client):
        self.client = client

    @property
    def csrf(self) -> str:
        with self.client.session_transaction() as session:
            return session["csrf_token"]

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def post_json(self, path, body):
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})


def sign_in(client, key: str):
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    return client.post("/admin/login", data={"csrf_token": token, "api_key": key})


@pytest.fixture
def admin_web(app, admin_key) -> AdminClient:
    client = app.test_client()
    response = sign_in(client, admin_key)
    assert response.status_code == 302, response.get_data(as_text=True)
    return AdminClient(client)


def text_of(response) -> str:
    """The page's visible text, roughly: tags out, whitespace squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1:<free port>, served from a thread for the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(chromium):
    """A fresh browser context and page; console errors (CSP violations included) are collected."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {ARTIFACTS}")
    return ARTIFACTS
