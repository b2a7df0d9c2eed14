"""Open-loop load: requests leave on a fixed schedule, whatever the server's pace.

A closed-loop generator (wrk) waits for each answer before sending the next,
so a slow server is asked less and its tail latency hides (coordinated
omission). Here request i is due at start + i / rate, and its latency is
counted from when it was due, so queueing shows in the percentiles.

The generator shares the two cores with the server, and its own delays
count as the server's, so it must be cheap: each request is a bare asyncio
protocol that connects, sends and reads until the server closes (gunicorn's
sync workers close every connection). Against a bare Flask answer at 700
requests/s that took 0.39 ms of the generator's CPU per request where
aiohttp's client took 0.58, and its p99 was 8 ms where aiohttp's was 30.
"""

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class OpenLoopResult:
    rate: float
    sent: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


class _Exchange(asyncio.Protocol):
    """One request on its own connection: sent once connected, answered when the server closes."""

    def __init__(self, request: bytes, answered: asyncio.Future):
        self.request = request
        self.answered = answered
        self.received: list[bytes] = []

    def connection_made(self, transport) -> None:
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.received.append(data)

    def connection_lost(self, error) -> None:
        if self.answered.done():
            return
        if error is not None:
            self.answered.set_exception(error)
        else:
            self.answered.set_result(b"".join(self.received))


def request_bytes(host: str, method: str, path: str, headers: dict, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items())]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def status_of(response: bytes) -> int:
    """The status code of an HTTP/1.x response; 0 if it is not one."""
    parts = response[:16].split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/1.") and parts[1].isdigit() else 0


async def exchange(host: str, port: int, request: bytes) -> int:
    loop = asyncio.get_running_loop()
    answered = loop.create_future()
    transport, _ = await loop.create_connection(lambda: _Exchange(request, answered), host, port)
    try:
        return status_of(await answered)
    finally:
        transport.close()


async def _run(base: str, make_request: Callable[[int], tuple[str, str, dict, bytes | None]], rate: float,
               duration: float, connections: int) -> OpenLoopResult:
    address = urlsplit(base)
    host, port = address.hostname, address.port
    latencies: list[float] = []
    errors = 0
    in_flight = asyncio.Semaphore(connections)

    async def one(index: int, due: float) -> None:
        nonlocal errors
        request = request_bytes(address.netloc, *make_request(index))
        async with in_flight:
            try:
                if not 200 <= await exchange(host, port, request) < 400:
                    errors += 1
            except OSError:
                errors += 1
        latencies.append((time.perf_counter() - due) * 1000)

    start = time.perf_counter() + 0.05
    total = int(rate * duration)
    tasks = []
    for index in range(total):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    latencies.sort()
    return OpenLoopResult(rate, total, errors, percentile(latencies, 0.50), percentile(latencies, 0.99),
                          latencies[-1] if latencies else float("nan"))


def open_loop(base: str, make_request, rate: float, duration: float = 10.0, connections: int = 64) -> OpenLoopResult:
    """The collector is off while the requests run: a full collection of the generator's thousands of
    tasks paused it for 100-200 ms, and every request in flight then counted the pause as the server's."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        return asyncio.run(_run(base, make_request, rate, duration, connections))
    finally:
        gc.enable()
        gc.unfreeze()
