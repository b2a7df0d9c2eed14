"""Ceiling S must replay a real accrual: every write of it, for another member, with ids of its own."""

import sqlalchemy as sa

from bench.ceiling import record_accrual, replay_accrual
from loyalty.db.transactions import configure_engine


def test_a_replayed_accrual_writes_what_the_recorded_one_wrote(database_url, api, db_backend):
    recorded_member, other_member = api.enroll()["id"], api.enroll()["id"]
    statements = record_accrual(database_url, api.key, recorded_member, "recorded-key")
    assert not any(statement.lstrip().upper().startswith(("BEGIN", "COMMIT")) for statement, _ in statements)

    engine = sa.create_engine(database_url)
    configure_engine(engine)
    replay_accrual(engine, statements, "recorded-key", other_member, "replayed-key")
    with engine.connect() as connection:
        def rows(sql: str, **values) -> list:
            return connection.execute(sa.text(sql), values).all()

        recorded = rows("SELECT id, member_id FROM events WHERE source_id = 'recorded-key'")
        replayed = rows("SELECT id, member_id FROM events WHERE source_id = 'replayed-key'")
        assert [member for _, member in replayed] == [other_member]
        assert replayed[0][0] != recorded[0][0]
        for table in ("ledger_entries", "lots"):
            written = rows(f"SELECT member_id, points FROM {table} WHERE event_id = :event ORDER BY points",
                           event=replayed[0][0])
            assert written == [(other_member, points) for _, points in
                               rows(f"SELECT member_id, points FROM {table} WHERE event_id = :event ORDER BY points",
                                    event=recorded[0][0])]
            assert len(written) == 2
        entry_ids = rows("SELECT id FROM ledger_entries WHERE event_id IN (:a, :b)", a=recorded[0][0],
                         b=replayed[0][0])
        assert len({entry_id for entry_id, in entry_ids}) == 4
        assert rows("SELECT count(*) FROM idempotency_records WHERE \"key\" = 'replayed-key'") == [(1,)]
    engine.dispose()
