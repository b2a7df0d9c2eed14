"""The only door to time: everything asks ``now()`` and gets an aware UTC datetime."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def to_rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
