"""Racing real requests against one database from several threads.

Each thread gets its own Flask test client; every request it makes pushes its
own app context, so Flask-SQLAlchemy hands it its own session and connection.
The threads wait behind a barrier and fire together.
"""

import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import Event, LedgerEntry, Lot, Member
from tests.conftest import ApiClient

JOIN_TIMEOUT = 120
PROGRAM_TZ = ZoneInfo("America/New_York")
HOLIDAY_WINDOW = ((12, 20), (12, 26))  # rules/program.yaml: holiday-double, both days included


@dataclass(frozen=True)
class Reply:
    """What a thread saw: status, parsed body, raw body and the replay header."""

    status: int
    body: dict
    raw: bytes
    replayed: bool

    @property
    def error_code(self) -> str | None:
        return (self.body.get("error") or {}).get("code") if isinstance(self.body, dict) else None


def reply(response) -> Reply:
    raw = response.get_data()
    return Reply(response.status_code, json.loads(raw) if raw else {}, raw,
                 response.headers.get("Idempotent-Replayed") == "true")


def run_together(app, api_key: str, calls: list[Callable[[ApiClient], object]]) -> list:
    """Run each call in its own thread, all released at once; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[str] = []

    def worker(index: int, call) -> None:
        try:
            client = ApiClient(app.test_client(), api_key)
            barrier.wait(timeout=JOIN_TIMEOUT)
            results[index] = call(client)
        except BaseException:  # noqa: BLE001 - reported to the main thread below
            errors.append(f"thread {index}:\n{traceback.format_exc()}")
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    stuck = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not stuck, f"threads {stuck} did not finish within {JOIN_TIMEOUT}s"
    assert not errors, "\n".join(errors)
    return results


def quiet_day() -> datetime:
    """Noon (program time) of a recent past day outside the holiday-double window.

    Every event of one test shares it, so daily caps see one day and the
    points are known in advance whatever the calendar says today.
    """
    day = datetime.now(PROGRAM_TZ).date() - timedelta(days=1)
    while HOLIDAY_WINDOW[0] <= (day.month, day.day) <= HOLIDAY_WINDOW[1]:
        day -= timedelta(days=1)
    return datetime.combine(day, time(12), PROGRAM_TZ).astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class LedgerState:
    balance: int
    entries_sum: int
    active_lots_remaining: int
    negative_lots: int
    events: int
    mismatches: list


def ledger_state(app, member_id: str) -> LedgerState:
    """The member's cached balance next to what the entries and lots say, read fresh."""
    with app.app_context():
        session = db.session()
        balance = session.scalar(sa.select(Member.balance).where(Member.id == member_id))
        entries = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.points), 0))
                                 .where(LedgerEntry.member_id == member_id))
        lots = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Lot.remaining), 0))
                              .where(Lot.member_id == member_id, Lot.status == "active"))
        negative = session.scalar(sa.select(sa.func.count()).select_from(Lot)
                                  .where(Lot.member_id == member_id, Lot.remaining < 0))
        events = session.scalar(sa.select(sa.func.count()).select_from(Event)
                                .where(Event.member_id == member_id))
        mismatches = verify_ledger(session)
        db.session.remove()
    return LedgerState(int(balance), int(entries), int(lots), int(negative), int(events), mismatches)


def count_events(app, **where) -> int:
    with app.app_context():
        query = sa.select(sa.func.count()).select_from(Event)
        for name, value in where.items():
            column = getattr(Event, name)
            query = query.where(column.in_(value) if isinstance(value, list | tuple | set) else column == value)
        total = db.session.scalar(query)
        db.session.remove()
    return int(total)
