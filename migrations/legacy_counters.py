"""How migration 0015 moved day counters into ``member_days``, frozen as the release at 0016 had it.

A copy of ``fold_legacy_counters`` of ``loyalty/ledger/counters.py``, so the
revision keeps doing what it did whatever the app's counters become.
"""

from sqlalchemy import Connection, text

_MERGED_USAGE = {
    "postgresql": (
        "CASE WHEN {added} IS NULL THEN {current} WHEN {current} IS NULL THEN {added} ELSE"
        " (SELECT ({current}::jsonb || jsonb_object_agg(e.key, e.value::int8"
        " + coalesce(({current}::jsonb ->> e.key)::int8, 0)))::text FROM jsonb_each_text({added}::jsonb) e) END"),
    "sqlite": (
        "CASE WHEN {added} IS NULL THEN {current} WHEN {current} IS NULL THEN {added} ELSE"
        " json_patch({current}, (SELECT json_group_object(e.key, e.value"
        " + coalesce(json_extract({current}, '$.\"' || e.key || '\"'), 0)) FROM json_each({added}) AS e)) END"),
}


def _day_upsert_set(dialect: str) -> str:
    merged = _MERGED_USAGE[dialect].format(current="member_days.usage", added="excluded.usage")
    return ("ON CONFLICT (member_id, day) DO UPDATE SET qualifying_points"
            f" = member_days.qualifying_points + excluded.qualifying_points, usage = {merged}")


_FOLD_LEGACY = {
    "postgresql": [
        "WITH moved AS (DELETE FROM qualifying_points RETURNING member_id, day, points)"
        " INSERT INTO member_days (member_id, day, qualifying_points, usage)"
        " SELECT member_id, day, sum(points), NULL FROM moved GROUP BY member_id, day "
        + _day_upsert_set("postgresql"),
        "WITH moved AS (DELETE FROM rule_usage WHERE length(period_key) = 10"
        " RETURNING member_id, counter_id, period_key, used)"
        " INSERT INTO member_days (member_id, day, qualifying_points, usage)"
        " SELECT member_id, CAST(period_key AS date), 0, CAST(jsonb_object_agg(counter_id, used) AS text)"
        " FROM moved GROUP BY member_id, period_key " + _day_upsert_set("postgresql"),
    ],
    "sqlite": [
        "INSERT INTO member_days (member_id, day, qualifying_points, usage)"
        " SELECT member_id, day, points, NULL FROM qualifying_points WHERE true " + _day_upsert_set("sqlite"),
        "DELETE FROM qualifying_points",
        "INSERT INTO member_days (member_id, day, qualifying_points, usage)"
        " SELECT member_id, period_key, 0, json_group_object(counter_id, used) FROM rule_usage"
        " WHERE length(period_key) = 10 GROUP BY member_id, period_key " + _day_upsert_set("sqlite"),
        "DELETE FROM rule_usage WHERE length(period_key) = 10",
    ],
}


def fold_legacy_counters(connection: Connection) -> None:
    """Move ``qualifying_points`` rows and ``rule_usage`` rows of a day into ``member_days``, adding up."""
    for statement in _FOLD_LEGACY[connection.dialect.name]:
        connection.execute(text(statement))
