"""`members import`: opening balances and tiers, idempotent by external_id, bad rows by line; CSV exports."""

import csv
import io

from freezegun import freeze_time
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import LedgerEntry, Lot, Member, TierChange
from tests.api.test_tier_badges import TEXT as TIER_BADGES

NOW = "2026-11-10T15:00:00Z"
HEADER = "external_id,email,phone,first_name,last_name,birthday,email_opt_in,opening_balance,tier\n"
GOOD = (
    "old-1,ana@example.com,+1 212 555 0100,Ana,López,1990-12-31,true,1200,silver\n"
    "old-2,,,,,,,0,\n"
    "old-3,ben@example.com,,Ben,,,no,75,\n"
)


def write(tmp_path, text, name="members.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def members_by_external_id(app) -> dict[str, Member]:
    with app.app_context():
        rows = db.session.scalars(select(Member)).all()
        db.session.remove()
    return {m.external_id: m for m in rows}


def ledger_ok(app) -> bool:
    with app.app_context():
        ok = verify_ledger(db.session()) == []
        db.session.remove()
    return ok


@freeze_time(NOW)
def test_members_come_in_with_their_balances_and_tiers(db_backend, app, runner, api, tmp_path):
    result = runner.invoke(args=["members", "import", write(tmp_path, HEADER + GOOD)])
    assert result.exit_code == 0, result.output
    assert "Enrolled 3 members with 1,275 opening points; 0 already enrolled; 0 bad rows" in result.output
    members = members_by_external_id(app)
    ana = api.member(members["old-1"].id)
    assert ana["email"] == "ana@example.com" and ana["last_name"] == "López" and ana["birthday"] == "1990-12-31"
    assert ana["email_opt_in"] is True and ana["channel"] == "import"
    assert ana["points"]["balance"] == 1200  # no welcome or sign-up points for a migrated member
    assert ana["tier"]["id"] == "silver" and ana["tier"]["expires_at"] == "2027-11-10T15:00:00Z"
    assert api.member(members["old-2"].id)["tier"]["id"] == "member"
    [entry] = api.get(f"/v1/members/{ana['id']}/transactions").get_json()["data"]
    assert (entry["type"], entry["points"], entry["reason"], entry["actor"]) == ("adjust", 1200, "opening balance",
                                                                               "import")
    assert entry["expires_at"] == "2027-11-10T15:00:00Z"  # the program's 12 months
    with app.app_context():
        assert [(c.member_id, c.to_tier, c.reason) for c in db.session.scalars(select(TierChange))] == [
            (ana["id"], "silver", "import")]
        assert db.session.scalar(select(Lot.remaining).where(Lot.member_id == ana["id"])) == 1200
        db.session.remove()
    assert ledger_ok(app)


@freeze_time(NOW)
def test_importing_the_same_file_twice_enrols_nobody_twice(app, runner, api, tmp_path):
    api.enroll("old-3")  # enrolled through the API meanwhile
    path = write(tmp_path, HEADER + GOOD)
    first = runner.invoke(args=["members", "import", path])
    assert "Enrolled 2 members with 1,200 opening points; 1 already enrolled" in first.output
    second = runner.invoke(args=["members", "import", path])
    assert second.exit_code == 0 and "Enrolled 0 members with 0 opening points; 3 already enrolled" in second.output
    assert len(members_by_external_id(app)) == 3
    with app.app_context():
        assert db.session.query(LedgerEntry).filter(LedgerEntry.reason == "opening balance").count() == 1
        db.session.remove()


@freeze_time(NOW)
def test_a_bad_row_is_reported_by_line_and_the_rest_imports(app, runner, tmp_path):
    text = (HEADER + GOOD
            + "old-4,not-an-email,,,,31/12/1990,maybe,-5,platinum\n"
            + "old-1,dup@example.com,,,,,,,\n"
            + ",,,,,,,,\n"
            + "old-5,eve@example.com,,Eve,,,,10,gold\n")
    result = runner.invoke(args=["members", "import", path := write(tmp_path, text)])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith(path)]
    assert errors[0].startswith(f"{path}:line 5: email: ")
    assert all(f"{field}:" in errors[0] for field in ("birthday", "email_opt_in", "opening_balance", "tier"))
    assert errors[1] == f"{path}:line 6: external_id 'old-1' already appears on line 2"
    assert errors[2] == f"{path}:line 7: external_id: required"
    assert len(errors) == 3
    assert "Enrolled 4 members with 1,285 opening points; 0 already enrolled; 3 bad rows" in result.output
    assert set(members_by_external_id(app)) == {"old-1", "old-2", "old-3", "old-5"}


@freeze_time(NOW)
def test_all_or_nothing_imports_nothing_when_a_row_is_bad(app, runner, tmp_path):
    result = runner.invoke(args=["members", "import", "--all-or-nothing",
                                 write(tmp_path, HEADER + GOOD + "old-9,,,,,,,lots,\n")])
    assert result.exit_code == 1
    assert "line 5: opening_balance: 'lots' is not a whole number of points" in result.output
    assert "nothing was imported" in result.output
    assert members_by_external_id(app) == {}
    ok = runner.invoke(args=["members", "import", "--all-or-nothing", write(tmp_path, HEADER + GOOD, "ok.csv")])
    assert ok.exit_code == 0 and len(members_by_external_id(app)) == 3


def test_a_file_without_external_id_is_refused_whole(app, runner, tmp_path):
    result = runner.invoke(args=["members", "import", write(tmp_path, "email,phone\na@example.com,123\n")])
    assert result.exit_code == 1 and "external_id" in result.output
    assert members_by_external_id(app) == {}


@freeze_time(NOW)
def test_unknown_columns_are_named_and_ignored_and_batches_add_up(app, runner, tmp_path):
    rows = "".join(f"bulk-{i},,,,,,,{i},,x\n" for i in range(25))
    result = runner.invoke(args=["members", "import", "--batch-size", "7",
                                 write(tmp_path, HEADER.strip() + ",loyalty_card\n" + rows)])
    assert result.exit_code == 0, result.output
    assert "Ignored column(s): loyalty_card" in result.output
    assert f"Enrolled 25 members with {sum(range(25)):,} opening points" in result.output
    assert ledger_ok(app)


@freeze_time(NOW)
def test_members_export_lists_every_member_and_defuses_formulas(app, runner, api, tmp_path):
    ana = api.enroll("cust-1", email="ana@example.com", first_name="=HYPERLINK(\"x\")")
    api.purchase(ana["id"], 1250)
    out = tmp_path / "members.csv"
    result = runner.invoke(args=["members", "export", str(out)])
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert row["id"] == ana["id"] and row["external_id"] == "cust-1" and row["email"] == "ana@example.com"
    assert row["first_name"] == "'=HYPERLINK(\"x\")"
    assert (row["balance"], row["tier"], row["status"], row["enrolled_at"]) == ("62", "member", "active",
                                                                                 "2026-11-10T15:00:00Z")


@freeze_time(NOW)
def test_ledger_export_writes_every_entry_oldest_first(app, runner, api, admin_api):
    ana = api.enroll("cust-1")
    api.purchase(ana["id"], 1250)
    admin_api.post(f"/v1/members/{ana['id']}/adjustments", {"points": -5, "reason": "-oops"})
    result = runner.invoke(args=["ledger", "export", "-"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["type"], r["points"], r["balance_after"]) for r in rows] == [
        ("earn", "50", "50"), ("earn", "12", "62"), ("adjust", "-5", "57")]
    assert rows[2]["reason"] == "'-oops" and rows[0]["created_at"] == "2026-11-10T15:00:00Z"
    none = runner.invoke(args=["ledger", "export", "-", "--from", "2027-01-01T00:00:00Z"])
    assert none.exit_code == 0 and none.stdout.splitlines() == [",".join(
        ["seq", "id", "member_id", "type", "points", "balance_after", "rule_id", "event_id", "redemption_id",
         "reason", "actor", "rules_version", "created_at", "expires_at"])]
    assert "Wrote 0 ledger entries." in none.stderr


@freeze_time(NOW)
def test_a_member_imported_at_silver_holds_the_silver_badge(db_backend, app, runner, api, admin_api, tmp_path):
    admin_api.publish_rules(TIER_BADGES, "tier badges")
    result = runner.invoke(args=["members", "import", write(tmp_path, HEADER + GOOD)])
    assert result.exit_code == 0, result.output
    members = members_by_external_id(app)
    assert [b["id"] for b in api.member(members["old-1"].id)["badges"]] == ["silver-star"]
    assert api.member(members["old-2"].id)["badges"] == []
