"""Open-loop load: requests leave on a fixed schedule, whatever the server's pace.

A closed-loop generator (wrk) waits for each answer before sending the next,
so a slow server is asked less and its tail latency hides (coordinated
omission). Here request i is due at start + i / rate, and its latency is
counted from when it was due, so queueing shows in the percentiles.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp


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


async def _run(base: str, make_request: Callable[[int], tuple[str, str, dict, bytes | None]], rate: float,
               duration: float, connections: int) -> OpenLoopResult:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        async def one(index: int, due: float) -> None:
            nonlocal errors
            method, path, headers, body = make_request(index)
            try:
                async with session.request(method, path, headers=headers, data=body) as response:
                    await response.read()
                    if response.status >= 400:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append((time.perf_counter() - due) * 1000)

        # The client's first request sets up its resolver and connector (tens of ms): not the server's time.
        async with session.get("/") as warm_up:
            await warm_up.read()
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
    return asyncio.run(_run(base, make_request, rate, duration, connections))
