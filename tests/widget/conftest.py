"""Browser tests of the customer widget: Playwright drives Debian's Chromium (``make browser``).

The service runs on a real port from a thread (SQLite, /demo on), and a second
tiny server plays the merchant's site on another origin, so cross-origin calls,
CORS and preflights happen exactly as in production. Screenshots go to
tests/artifacts/ on every run.
"""

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE = ROOT / "tests" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}


@pytest.fixture(scope="session")
def browser(chromium):
    return chromium


class Served:
    """A WSGI app on 127.0.0.1 on a free port, from a daemon thread."""

    def __init__(self, wsgi_app, host_name: str = "127.0.0.1"):
        self.requests: list[str] = []

        def counted(environ, start_response):
            self.requests.append(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}")
            return wsgi_app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, counted, threaded=True)
        self.origin = f"http://{host_name}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class MerchantSite:
    """The merchant's own pages, on another origin than the service (localhost vs 127.0.0.1)."""

    def __init__(self):
        self.pages: dict[str, str] = {}
        self.served = Served(self._wsgi, host_name="localhost")
        self.origin = self.served.origin

    def _wsgi(self, environ, start_response):
        body = self.pages.get(environ.get("PATH_INFO", ""))
        response = Response(body or "not found", status=200 if body else 404, mimetype="text/html")
        return response(environ, start_response)

    def page(self, path: str, widget_origin: str, token: str, css: str = "", body: str = "",
             auto: bool = True, attrs: str = "") -> str:
        """A merchant page embedding the widget with the two documented lines (``attrs``: more data-*)."""
        attrs = f'data-loyalty-widget data-token="{token}" {attrs}' if auto else ""
        self.pages[path] = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop</title><style>{css}</style></head>
<body><h1 id="shop-title">Our shop</h1><p>Welcome back.</p>
<div id="w" {attrs}></div>
<script src="{widget_origin}/widget.js" defer></script>
{body}
</body></html>"""
        return self.origin + path


@pytest.fixture
def merchant():
    site = MerchantSite()
    yield site
    site.served.stop()


@pytest.fixture
def service(app, merchant):
    """The service on a real port, SQLite, the demo on, CORS open to the merchant's origin only;
    ``service.requests`` lists what it was asked."""
    app.config.update(WIDGET_DEMO=True, WIDGET_ALLOWED_ORIGINS=merchant.origin)
    served = Served(app)
    yield served
    served.stop()


@pytest.fixture
def live_server(service) -> str:
    return service.origin


@pytest.fixture
def open_page(browser):
    """open_page(locale=..., viewport=...) → a fresh browser tab; page errors land in ``tab.errors``."""
    contexts = []

    def open_(viewport=DESKTOP, locale="en-US", timezone_id="America/New_York"):
        context = browser.new_context(viewport=viewport, locale=locale, timezone_id=timezone_id)
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        tab.errors = []
        tab.on("pageerror", lambda error: tab.errors.append(str(error)))
        return tab

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()


@pytest.fixture
def shoot(request):
    """shoot(page, "desktop") saves a full-page screenshot under tests/artifacts/."""

    def take(tab, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
        path = ARTIFACTS / f"{name}-{label}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def axe():
    """axe(page) → the serious and critical accessibility violations axe-core finds on the page, the
    widget's Shadow DOM included, as [(rule id, impact, [where])]; ``make test`` installs axe-core with npm."""
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: run `make test` (it runs `npm ci` in tests/)")

    def check(tab) -> list[tuple[str, str, list]]:
        tab.add_script_tag(path=str(AXE))
        found = tab.evaluate("""async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => [v.id, v.impact, v.nodes.map(n => n.target)]);
        }""")
        return [violation for violation in found if violation[1] in ("serious", "critical")]

    return check
