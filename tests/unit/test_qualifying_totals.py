"""A qualifying total is read once per transaction, kept right by add_qualifying, forgotten at its end."""

from datetime import date

import sqlalchemy as sa

from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.services import counters

FIRST, LAST = date(2026, 1, 1), date(2026, 12, 31)


def test_a_total_is_read_once_and_moves_with_what_the_transaction_adds(app, api, db_backend):
    member = api.enroll()["id"]
    other = api.enroll()["id"]
    with app.app_context():
        session = db.session()
        statements = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        with write_transaction(session):
            counters.add_qualifying(session, member, date(2026, 3, 1), 100)
            assert counters.qualifying_total(session, member, FIRST, LAST) == 100
            counters.add_qualifying(session, member, date(2026, 6, 1), 40)
            counters.add_qualifying(session, member, date(2025, 12, 31), 7)  # before the window
            counters.add_qualifying(session, other, date(2026, 6, 1), 5)  # someone else
            read = len([s for s in statements if s.startswith("SELECT")])
            assert counters.qualifying_total(session, member, FIRST, LAST) == 140
            assert counters.qualifying_total(session, member, date(2026, 4, 1), LAST) == 40
            assert len([s for s in statements if s.startswith("SELECT")]) == read + 1  # the narrower window
        db.session.remove()


def test_a_total_remembered_in_one_transaction_is_read_afresh_in_the_next(app, api, db_backend):
    member = api.enroll()["id"]
    with app.app_context():
        session = db.session()
        with write_transaction(session):
            counters.add_qualifying(session, member, date(2026, 3, 1), 100)
            assert counters.qualifying_total(session, member, FIRST, LAST) == 100
        with write_transaction(session):  # as another request would, outside this session's memory
            session.execute(sa.text("UPDATE member_days SET qualifying_points = 250 WHERE member_id = :m"),
                            {"m": member})
        with write_transaction(session):
            assert counters.qualifying_total(session, member, FIRST, LAST) == 250
        db.session.remove()


def test_a_rolled_back_addition_is_forgotten_with_its_transaction(app, api, db_backend):
    member = api.enroll()["id"]
    with app.app_context():
        session = db.session()
        try:
            with write_transaction(session):
                counters.qualifying_total(session, member, FIRST, LAST)
                counters.add_qualifying(session, member, date(2026, 3, 1), 100)
                raise RuntimeError("the request failed")
        except RuntimeError:
            pass
        with write_transaction(session):
            assert counters.qualifying_total(session, member, FIRST, LAST) == 0
        db.session.remove()
