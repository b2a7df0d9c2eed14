"""`events import FILE`: CSV and JSON Lines, rejected rows by line, reruns idempotent, history as if lived."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import Event, LedgerEntry, Lot, TierChange

NOW = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)
ITEMS = '"[{""sku"": ""latte"", ""category"": ""coffee"", ""quantity"": 2, ""unit_amount"": 450}]"'


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def write(tmp_path, text, name):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def events_recorded(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Event).where(Event.type != "enrolled"))
        db.session.remove()
    return count


@pytest.fixture
def frozen():
    with freeze_time(NOW):
        yield


def csv_file(tmp_path, ana, ben):
    day = at(NOW - timedelta(days=2))
    return write(tmp_path, (
        "type,member_id,external_id,source_id,occurred_at,amount,currency,items,attributes\n"
        f"purchase,{ana},,old/1,{day},1250,USD,{ITEMS},\n"
        f"purchase,{ana},,old/2,{day},-5,USD,,\n"                      # line 3: a negative amount
        f"review,,{ben['external_id']},old/3,{day},,,,\"{{\"\"stars\"\": 4}}\"\n"
        f"purchase,mem_nobody,,old/4,{day},1000,USD,,\n"                # line 5: no such member
        f"purchase,{ana},,old/5,{day},1000,USD,not json,\n"             # line 6: items not JSON
        f"purchase,{ana},,,{day},1000,USD,,\n"                          # line 7: no source_id
    ), "events.csv")


def test_a_csv_is_recorded_and_rejected_rows_are_reported_by_line(db_backend, app, runner, api, tmp_path, frozen):
    ana, ben = api.enroll(), api.enroll()
    result = runner.invoke(args=["events", "import", csv_file(tmp_path, ana["id"], ben)])
    assert result.exit_code == 1, result.output
    assert "Recorded 2 events earning 46 points; 0 already recorded; 4 rejected" in result.stdout
    rejected = [line.split(":")[1:3] for line in result.stderr.splitlines() if "events.csv:" in line]
    assert rejected == [["3", " validation_error"], ["5", " not_found"], ["6", " validation_error"],
                        ["7", " validation_error"]]
    assert '"amount"' in result.stderr and '"source_id"' in result.stderr and '"items"' in result.stderr
    assert api.member(ana["id"])["points"]["balance"] == 50 + 12 + 9  # spend, and coffee-bonus on $9 of coffee
    assert api.member(ben["id"])["points"]["balance"] == 50 + 25


def test_rerunning_an_import_records_nothing_twice(db_backend, app, runner, api, tmp_path, frozen):
    ana, ben = api.enroll(), api.enroll()
    path = csv_file(tmp_path, ana["id"], ben)
    runner.invoke(args=["events", "import", path])
    again = runner.invoke(args=["events", "import", path, "--batch-size", "2"])
    assert "Recorded 0 events earning 0 points; 2 already recorded; 4 rejected" in again.stdout
    assert events_recorded(app) == 2
    assert api.member(ana["id"])["points"]["balance"] == 50 + 21


def test_json_lines_are_imported_in_chunks_and_a_partial_run_resumes(db_backend, app, runner, api, tmp_path, frozen):
    ana = api.enroll()
    bodies = [{"type": "purchase", "member_id": ana["id"], "source_id": f"jl/{n}", "amount": 100 * (n + 1),
               "currency": "USD", "occurred_at": at(NOW - timedelta(hours=n))} for n in range(7)]
    first_part = write(tmp_path, "\n".join(json.dumps(b) for b in bodies[:3]) + "\n", "part.jsonl")
    assert runner.invoke(args=["events", "import", first_part]).exit_code == 0
    whole = write(tmp_path, "\n".join(json.dumps(b) for b in bodies) + "\n\n{broken\n", "events.jsonl")
    result = runner.invoke(args=["events", "import", whole, "--batch-size", "3"])
    assert "Recorded 4 events earning 22 points; 3 already recorded; 1 rejected" in result.stdout
    assert "events.jsonl:9: validation_error" in result.stderr
    assert events_recorded(app) == 7
    assert api.member(ana["id"])["points"]["balance"] == 50 + sum(range(1, 8))


def test_events_older_than_90_days_need_historical(db_backend, app, runner, api, tmp_path, frozen):
    ana = api.enroll()
    old = {"type": "review", "member_id": ana["id"], "source_id": "r/1", "occurred_at": at(NOW - timedelta(days=200))}
    path = write(tmp_path, json.dumps(old) + "\n", "old.jsonl")
    refused = runner.invoke(args=["events", "import", path])
    assert refused.exit_code == 1 and "90 days" in refused.stderr
    assert runner.invoke(args=["events", "import", path, "--historical"]).exit_code == 0
    assert api.member(ana["id"])["points"]["balance"] == 50 + 25


def test_history_earns_by_its_own_time_lots_already_due_expire_and_tiers_are_lived(
        db_backend, app, runner, api, tmp_path, frozen):
    """Purchases 14 and 13 months ago: their lots (12 months) are due and expire at once. The second
    reached silver (500 qualifying points) then; its 365-day hold ended when the purchase of a month
    ago came, with nothing earned in the trailing year, so that one earned as a Member."""
    ana = api.enroll()
    long_ago, later, recent = NOW - timedelta(days=425), NOW - timedelta(days=395), NOW - timedelta(days=30)
    rows = [("h/1", long_ago, 30000), ("h/2", later, 30000), ("h/3", recent, 10000)]
    path = write(tmp_path, "".join(json.dumps({
        "type": "purchase", "member_id": ana["id"], "source_id": s, "occurred_at": at(t), "amount": amount,
        "currency": "USD"}) + "\n" for s, t, amount in rows), "history.jsonl")
    result = runner.invoke(args=["events", "import", path, "--historical"])
    assert result.exit_code == 0, result.output
    member = api.member(ana["id"])
    assert member["tier"]["id"] == "member"
    with app.app_context():
        lots = db.session.execute(select(Lot.points, Lot.remaining, Lot.expires_at).where(
            Lot.member_id == ana["id"], Lot.rule_id == "spend").order_by(Lot.id)).all()
        assert [(points, remaining) for points, remaining, _ in lots] == [(300, 0), (300, 0), (100, 100)]
        assert lots[0].expires_at.date() == (long_ago + timedelta(days=365)).date()
        expired = db.session.scalars(select(LedgerEntry.points).where(
            LedgerEntry.member_id == ana["id"], LedgerEntry.type == "expire")).all()
        assert expired == [-300, -300]
        assert [(c.to_tier, c.reason) for c in db.session.scalars(
            select(TierChange).where(TierChange.member_id == ana["id"]).order_by(TierChange.id))] == [
            ("silver", "upgrade"), ("member", "downgrade")]
        assert verify_ledger(db.session()) == []
    assert member["points"]["balance"] == 50 + 100


def test_a_points_column_takes_the_previous_programs_figures_as_they_are(
        db_backend, app, runner, api, tmp_path, frozen):
    ana = api.enroll()
    long_ago, recent = at(NOW - timedelta(days=430)), at(NOW - timedelta(days=30))
    path = write(tmp_path, (
        "type,member_id,source_id,occurred_at,amount,currency,points\n"
        f"purchase,{ana['id']},p/1,{long_ago},30000,USD,777\n"
        f"purchase,{ana['id']},p/2,{recent},1000,USD,80\n"
        f"purchase,{ana['id']},p/3,{recent},1000,USD,-1\n"
    ), "carried.csv")
    result = runner.invoke(args=["events", "import", path, "--historical"])
    assert "Recorded 2 events earning 857 points; 0 already recorded; 1 rejected" in result.stdout
    assert "carried.csv:4: validation_error" in result.stderr and '"points"' in result.stderr
    member = api.member(ana["id"])
    assert member["points"]["balance"] == 50 + 80  # the 777 of 14 months ago expired at once
    assert member["tier"]["id"] == "member"  # carried points, like adjustments, qualify for no tier
    with app.app_context():
        entries = db.session.execute(select(LedgerEntry.type, LedgerEntry.points, LedgerEntry.rule_id).where(
            LedgerEntry.member_id == ana["id"], LedgerEntry.type != "earn").order_by(LedgerEntry.seq)).all()
        assert [tuple(e) for e in entries] == [("adjust", 777, None), ("adjust", 80, None), ("expire", -777, None)]
        assert db.session.scalar(select(func.count()).select_from(Event).where(Event.source_id.like("p/%"))) == 2
        assert verify_ledger(db.session()) == []
    again = runner.invoke(args=["events", "import", path, "--historical"])
    assert "Recorded 0 events earning 0 points; 2 already recorded; 1 rejected" in again.stdout
