"""Sending claimed deliveries: signed HTTP POSTs, each endpoint on a thread of its own, outside any transaction."""

import hashlib
import hmac
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import requests

from loyalty.models import WebhookEndpoint

USER_AGENT = "loyalty-webhooks/1"
ERROR_EXCERPT = 500


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery with everything needed to send it, detached from the session."""

    seq: int
    endpoint_id: str
    url: str
    body: bytes
    headers: dict


@dataclass(frozen=True)
class Outcome:
    seq: int
    endpoint_id: str
    attempted: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.attempted and self.status_code is not None and 200 <= self.status_code < 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(endpoint: WebhookEndpoint, timestamp: int, body: bytes, now: datetime) -> str:
    """``t=<unix>,v1=<hex>``; during a secret rotation's grace period a second ``v1`` signs with the old one."""
    parts = [f"t={timestamp}", f"v1={sign(endpoint.secret, timestamp, body)}"]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        parts.append(f"v1={sign(endpoint.previous_secret, timestamp, body)}")
    return ",".join(parts)


def send_all(claimed: list[Outgoing], concurrency: int, timeout: float,
             post: Callable | None = None) -> list[Outcome]:
    """Send each endpoint's deliveries in order on a thread of its own; stop an endpoint at its first failure."""
    by_endpoint: dict[str, list[Outgoing]] = {}
    for item in claimed:
        by_endpoint.setdefault(item.endpoint_id, []).append(item)
    workers = max(1, min(concurrency, len(by_endpoint)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        groups = pool.map(lambda items: _send_endpoint(items, timeout, post), by_endpoint.values())
        return [outcome for group in groups for outcome in group]


def _send_endpoint(items: list[Outgoing], timeout: float, post: Callable | None) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with requests.Session() as http:
        send = post or http.post
        for index, item in enumerate(items):
            outcome = _send_one(send, item, timeout)
            outcomes.append(outcome)
            if not outcome.succeeded:
                outcomes.extend(Outcome(seq=rest.seq, endpoint_id=rest.endpoint_id, attempted=False)
                                for rest in items[index + 1:])
                break
    return outcomes


def _send_one(send: Callable, item: Outgoing, timeout: float) -> Outcome:
    started = time.perf_counter()
    try:
        response = send(item.url, data=item.body, headers=item.headers, stream=True, allow_redirects=False,
                        timeout=(min(timeout, 3.0), timeout))
        try:
            excerpt = response.raw.read(ERROR_EXCERPT, decode_content=True) if response.raw else b""
        except Exception:  # noqa: BLE001 - a broken body does not change the status we got
            excerpt = b""
        finally:
            response.close()
        status, error = response.status_code, None
        if not 200 <= status < 300:
            error = f"HTTP {status}: {excerpt.decode('utf-8', 'replace')}".strip()
    except requests.Timeout:
        status, error = None, f"timed out after {timeout:g} s"
    except requests.RequestException as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"[:ERROR_EXCERPT]
    duration_ms = round((time.perf_counter() - started) * 1000)
    return Outcome(seq=item.seq, endpoint_id=item.endpoint_id, attempted=True, status_code=status, error=error,
                   duration_ms=duration_ms)
