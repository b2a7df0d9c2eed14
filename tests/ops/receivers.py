"""Webhook receivers (real HTTP servers on 127.0.0.1) and delivery helpers for the operations tests."""

import json
import threading
import time
from dataclasses import dataclass

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from loyalty.extensions import db
from loyalty.outbox.delivery import DeliverySettings, deliver_due

#: Short timeouts keep the tests fast; the backoff is the production one.
SETTINGS = DeliverySettings(timeout=0.5)


@dataclass(frozen=True)
class Received:
    payload: dict
    body: bytes
    headers: dict
    status: int  # what the receiver answered

    @property
    def event_id(self) -> str:
        return self.payload["id"]


class Receiver:
    """A merchant's endpoint: records every request; answers ``status`` after ``delay`` seconds."""

    def __init__(self, server: HTTPServer, path: str = "/hook"):
        self.server = server
        self.path = path
        self.status = 200
        self.delay = 0.0
        self.requests: list[Received] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.hold = False
        self._lock = threading.Lock()
        server.expect_request(path, method="POST").respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        return self.server.url_for(self.path)

    def _handle(self, request: Request) -> Response:
        status = self.status
        body = request.get_data()
        with self._lock:
            self.requests.append(Received(json.loads(body), body, dict(request.headers), status))
        self.arrived.set()
        if self.hold:
            self.release.wait(30)
        if self.delay:
            time.sleep(self.delay)
        return Response("ok" if status < 300 else "receiver down", status=status)

    def delivered(self) -> list[Received]:
        """Requests it accepted (2xx), in the order they arrived."""
        return [r for r in self.requests if 200 <= r.status < 300]


def subscribe(admin_api, url: str, events=("member.enrolled", "points.earned", "points.reversed",
                                          "points.adjusted", "tier.changed", "member.erased")) -> dict:
    response = admin_api.post("/v1/webhook-endpoints", {"url": url, "events": list(events)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliver(app, now, settings=SETTINGS, **options):
    with app.app_context():
        try:
            return deliver_due(db.session(), now, settings, **options)
        finally:
            db.session.remove()
