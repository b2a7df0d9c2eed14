"""The customer widget's API: widget tokens, /v1/me/*, CORS and /widget.js (/demo: test_widget_demo.py).

A widget token speaks for one member only: whatever other member's id a
request carries (query, body, path), it never reads or spends their points.
"""

import gzip
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from itsdangerous import URLSafeSerializer

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import LedgerEntry, Member, Redemption
from loyalty.services import widget_tokens

ROOT = Path(__file__).resolve().parents[2]
WIDGET_JS = ROOT / "loyalty" / "widget" / "static" / "widget.js"
NOW = "2026-11-10T15:00:00Z"
SHOP = "https://shop.example.com"
LATTES = [{"sku": "latte-l", "category": "coffee", "quantity": 2, "unit_amount": 450}]


class Widget:
    """A browser's view of the API: a widget token instead of an API key."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def headers(self, idempotency_key=None, **extra) -> dict:
        headers = {"Authorization": f"Bearer {self.token}", **extra}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def get(self, path, **extra):
        return self.client.get(path, headers=self.headers(**extra))

    def post(self, path, json=None, idempotency_key="k-1", **extra):
        return self.client.post(path, json=json, headers=self.headers(idempotency_key, **extra))

    def redeem(self, reward_id="free-drink", idempotency_key="k-1", **body):
        return self.post("/v1/me/redemptions", {"reward_id": reward_id, **body}, idempotency_key)


def mint(api, member_id, **body):
    response = api.post(f"/v1/members/{member_id}/widget-tokens", body, idempotency_key=False)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def widget_for(app, api, member_id) -> Widget:
    return Widget(app.test_client(), mint(api, member_id)["token"])


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["error"]["code"] == code
    return body


def ledger_of(app, member_id) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(sa.select(LedgerEntry.type, LedgerEntry.points, LedgerEntry.balance_after)
                                  .where(LedgerEntry.member_id == member_id).order_by(LedgerEntry.seq)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def set_status(app, member_id, status):
    with app.app_context():
        db.session.get(Member, member_id).status = status
        db.session.commit()
        db.session.remove()


@pytest.fixture
def two_members(api):
    """Ana (150 welcome + sign-up points, then a $12.50 coffee purchase: 171) and Ben (350 points)."""
    ana = api.enroll("ana", email="ana@example.com", email_opt_in=True)
    api.purchase(ana["id"], 1250, items=LATTES)
    ben = api.enroll("ben")
    api.purchase(ben["id"], 30000)
    return api.member(ana["id"]), api.member(ben["id"])


# --------------------------------------------------------------------------- tokens


@freeze_time(NOW)
def test_a_till_mints_a_token_valid_one_hour_by_default(api, two_members):
    ana, _ = two_members
    answer = mint(api, ana["id"])
    assert answer["expires_at"] == "2026-11-10T16:00:00Z"
    assert answer["member_id"] == ana["id"]
    assert answer["token"].startswith("lwt_")
    assert mint(api, ana["id"], ttl_seconds=600)["expires_at"] == "2026-11-10T15:10:00Z"


@pytest.mark.parametrize("ttl, message", [(59, "Must be greater than or equal to 60."),
                                          (86401, "must be at most 86400"), ("3600", "Not a valid integer.")])
def test_token_lifetime_is_bounded(api, two_members, ttl, message):
    response = api.post(f"/v1/members/{two_members[0]['id']}/widget-tokens", {"ttl_seconds": ttl})
    body = assert_error(response, 422, "validation_error")
    assert body["error"]["details"]["fields"]["ttl_seconds"] == [message]


def test_tokens_for_unknown_or_erased_members_are_refused(app, api, two_members):
    assert_error(api.post("/v1/members/mem_nobody/widget-tokens", {}), 404, "not_found")
    set_status(app, two_members[0]["id"], "erased")
    assert_error(api.post(f"/v1/members/{two_members[0]['id']}/widget-tokens", {}), 409, "member_inactive")


def test_minting_tokens_needs_a_pos_or_admin_key(app, api, two_members):
    ana, _ = two_members
    widget = widget_for(app, api, ana["id"])
    assert_error(widget.post(f"/v1/members/{ana['id']}/widget-tokens", {}), 403, "forbidden")
    assert_error(app.test_client().post(f"/v1/members/{ana['id']}/widget-tokens", json={}), 401, "unauthorized")


# --------------------------------------------------------------------------- /v1/me


def test_me_is_the_tokens_member_with_everything_the_widget_shows_in_one_request(app, api, two_members):
    ana, _ = two_members
    me = widget_for(app, api, ana["id"]).get("/v1/me?include=rewards,transactions")
    assert me.status_code == 200, me.get_json()
    body = me.get_json()
    assert (body["id"], body["points"]["balance"]) == (ana["id"], 171)
    assert body["tier"]["next"] == {"id": "silver", "name": "Silver", "points_needed": 500 - 12 - 9}
    assert body["referral_code"] == ana["referral_code"]
    assert body["program"] == {"name": "Bean & Leaf Rewards", "currency": "USD", "tiers": [
        {"id": "member", "name": "Member", "qualifying_points": 0, "multiplier": 1.0},
        {"id": "silver", "name": "Silver", "qualifying_points": 500, "multiplier": 1.25},
        {"id": "gold", "name": "Gold", "qualifying_points": 1500, "multiplier": 1.5}]}
    rewards = {r["id"]: (r["eligible"], r["ineligible_reason"]) for r in body["rewards"]}
    assert rewards["free-drink"] == (True, None)
    assert rewards["five-off"] == (False, "329 more points needed.")
    activity = [(t["type"], t["points"], t["description"], t["detail"]) for t in body["transactions"]["data"]]
    assert activity == [
        ("earn", 9, "1 more point per dollar spent on coffee", "1 point per $1 on $9.00 of coffee items = 9 points"),
        ("earn", 12, "1 point per dollar", "1 point per $1 on $12.50 = 12 points"),
        ("earn", 100, "Thanks for joining the mailing list", "100 points"),
        ("earn", 50, "Welcome bonus", "50 points"),
    ]
    plain = widget_for(app, api, ana["id"]).get("/v1/me").get_json()
    assert "rewards" not in plain and "transactions" not in plain


def test_me_transactions_pages_and_describes_redemptions(app, api, two_members):
    ana, _ = two_members
    widget = widget_for(app, api, ana["id"])
    assert widget.redeem("free-drink").status_code == 201
    first = widget.get("/v1/me/transactions?limit=2").get_json()
    assert [(t["type"], t["points"], t["description"]) for t in first["data"]] == [
        ("redeem", -150, "Redeemed Any drink, any size"), ("earn", 9, "1 more point per dollar spent on coffee")]
    rest = widget.get(f"/v1/me/transactions?limit=10&cursor={first['next_cursor']}").get_json()
    assert [t["points"] for t in rest["data"]] == [12, 100, 50]
    assert rest["next_cursor"] is None


def test_me_rewards_say_what_this_member_can_redeem(app, api, two_members):
    _, ben = two_members
    rewards = widget_for(app, api, ben["id"]).get("/v1/me/rewards").get_json()["data"]
    assert [(r["id"], r["eligible"]) for r in rewards] == [
        ("free-drink", True), ("five-off", False), ("ten-percent", False), ("gold-tumbler", False)]


@pytest.mark.usefixtures("db_backend")
def test_redeeming_through_the_widget_spends_the_tokens_member_once(app, api, two_members):
    ana, _ = two_members
    widget = widget_for(app, api, ana["id"])
    first = widget.redeem("free-drink", idempotency_key="tap-1")
    assert first.status_code == 201, first.get_json()
    redemption = first.get_json()
    assert (redemption["member_id"], redemption["points_spent"], redemption["status"]) == (ana["id"], 150, "issued")
    assert re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", redemption["code"])
    again = widget.redeem("free-drink", idempotency_key="tap-1")
    assert (again.status_code, again.get_json(), again.headers.get("Idempotent-Replayed")) == (201, redemption, "true")
    assert widget.get("/v1/me").get_json()["points"]["balance"] == 21
    assert_error(widget.redeem("free-drink", idempotency_key="tap-2"), 409, "insufficient_points")
    assert_error(widget.redeem("ten-percent", idempotency_key="tap-3"), 409, "reward_unavailable")
    assert_error(widget.post("/v1/me/redemptions", {"reward_id": "free-drink"}, idempotency_key=None),
                 400, "bad_request")
    looked_up = api.get(f"/v1/redemptions/{redemption['code']}").get_json()
    assert (looked_up["id"], looked_up["member_id"]) == (redemption["id"], ana["id"])
    assert looked_up["status"] == "issued"
    with app.app_context():
        assert db.session.get(Redemption, redemption["id"]).actor == f"member:{ana['id']}"
        assert verify_ledger(db.session()) == []
        db.session.remove()


# --------------------------------------------------------------------------- one member only


@pytest.mark.usefixtures("db_backend")
def test_a_token_for_ana_never_reads_or_spends_bens_points(app, api, two_members):
    ana, ben = two_members
    widget = widget_for(app, api, ana["id"])
    bens_ledger = ledger_of(app, ben["id"])

    # Ben's id in the query string: refused, never answered with Ben's data.
    for path in ("/v1/me", "/v1/me/transactions", "/v1/me/rewards"):
        response = widget.get(f"{path}?member_id={ben['id']}")
        assert response.status_code in (200, 422), response.get_json()
        assert ben["id"] not in response.get_data(as_text=True)
    # ... in the body: an unknown field, refused before anything is spent.
    assert_error(widget.redeem("free-drink", idempotency_key="b-1", member_id=ben["id"]), 422, "validation_error")
    # ... in the path: "not found", as the contract says (and the same answer as for an id that
    # does not exist, so a token cannot even probe which ids do); /v1/me/<id> does not exist.
    bens = f"/v1/members/{ben['id']}"
    for method, path in [("GET", bens), ("GET", f"{bens}/transactions"), ("POST", f"{bens}/redemptions"),
                         ("GET", f"/v1/rewards?member_id={ben['id']}"), ("POST", f"{bens}/widget-tokens"),
                         ("POST", f"{bens}/adjustments"), ("GET", "/v1/members/mem_nobody")]:
        response = widget.client.open(path, method=method, json={"reward_id": "free-drink"},
                                      headers=widget.headers("b-2"))
        assert_error(response, 404, "not_found")
        assert ben["id"] not in response.get_data(as_text=True)
    assert_error(widget.get(f"/v1/me/{ben['id']}"), 404, "not_found")
    assert_error(widget.post(f"/v1/me/{ben['id']}/redemptions", {"reward_id": "free-drink"}), 404, "not_found")

    # What Ana's token does touch is Ana's: her redemption, her balance.
    spent = widget.redeem("free-drink", idempotency_key="b-3").get_json()
    assert spent["member_id"] == ana["id"]
    assert widget.get("/v1/me").get_json()["id"] == ana["id"]
    assert ledger_of(app, ben["id"]) == bens_ledger
    assert api.member(ben["id"])["points"]["balance"] == ben["points"]["balance"]


def test_the_same_idempotency_key_from_two_members_never_replays_the_other_ones_code(app, api, two_members):
    ana, ben = two_members
    anas = widget_for(app, api, ana["id"]).redeem("free-drink", idempotency_key="same").get_json()
    bens = widget_for(app, api, ben["id"]).redeem("free-drink", idempotency_key="same")
    assert bens.status_code == 201 and bens.headers.get("Idempotent-Replayed") is None
    assert bens.get_json()["member_id"] == ben["id"]
    assert bens.get_json()["code"] != anas["code"]


def test_a_widget_token_opens_only_v1_me(app, api, two_members):
    ana, _ = two_members
    widget = widget_for(app, api, ana["id"])
    for method, path in [("GET", f"/v1/members/{ana['id']}"), ("GET", "/v1/members?external_id=ana"),
                         ("POST", "/v1/events"), ("GET", "/v1/rewards"), ("GET", "/v1/rules"),
                         ("POST", f"/v1/members/{ana['id']}/redemptions"),
                         ("POST", f"/v1/members/{ana['id']}/adjustments")]:
        response = widget.client.open(path, method=method, json={}, headers=widget.headers("w-1"))
        assert_error(response, 403, "forbidden")


def test_an_api_key_cannot_use_v1_me(api, two_members):
    for path in ("/v1/me", "/v1/me/transactions", "/v1/me/rewards"):
        body = assert_error(api.get(path), 403, "forbidden")
        assert body["error"]["details"] == {"required_scope": "member"}
    assert_error(api.post("/v1/me/redemptions", {"reward_id": "free-drink"}), 403, "forbidden")


# --------------------------------------------------------------------------- bad tokens


def test_expired_tokens_are_401_and_say_so(app, api, two_members):
    ana, _ = two_members
    with freeze_time(NOW) as frozen:
        widget = widget_for(app, api, ana["id"])
        frozen.tick(timedelta(minutes=59, seconds=59))
        assert widget.get("/v1/me").status_code == 200
        frozen.tick(timedelta(seconds=1))
        body = assert_error(widget.get("/v1/me"), 401, "unauthorized")
        assert body["error"]["details"] == {"reason": "token_expired"}
        assert "sign in again" in body["error"]["message"]
        assert_error(widget.redeem("free-drink"), 401, "unauthorized")
    assert api.member(ana["id"])["points"]["balance"] == 171


def _forge(payload, secret="testing-secret-key", salt=widget_tokens.SALT) -> str:
    return widget_tokens.PREFIX + URLSafeSerializer(secret, salt=salt).dumps(payload)


def test_tampered_and_forged_tokens_are_401(app, api, two_members):
    ana, ben = two_members
    token = mint(api, ana["id"])["token"]
    payload_part, signature = token.removeprefix(widget_tokens.PREFIX).rsplit(".", 1)
    bens_payload = _forge({"m": ben["id"], "exp": 4102444800}).removeprefix(widget_tokens.PREFIX).rsplit(".", 1)[0]
    # The first character: the last one carries padding bits, and a change there can decode the same.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in [
        f"{widget_tokens.PREFIX}{payload_part}.{flipped}",  # signature changed
        f"{widget_tokens.PREFIX}{bens_payload}.{signature}",  # Ben's id under Ana's signature
        _forge({"m": ben["id"], "exp": 4102444800}, secret="another-secret"),
        _forge({"m": ben["id"], "exp": 4102444800}, salt="itsdangerous"),  # other signed data
        _forge({"m": ben["id"]}),  # no expiry
        widget_tokens.PREFIX + "garbage",
        widget_tokens.PREFIX,
    ]:
        body = assert_error(Widget(app.test_client(), bad).get("/v1/me"), 401, "unauthorized")
        assert ben["id"] not in str(body)
    assert ledger_of(app, ben["id"])[-1][2] == ben["points"]["balance"]


def test_an_erased_members_tokens_stop_working(app, api, two_members):
    ana, _ = two_members
    widget = widget_for(app, api, ana["id"])
    set_status(app, ana["id"], "erased")
    body = assert_error(widget.get("/v1/me"), 401, "unauthorized")
    assert body["error"]["details"] == {"reason": "member_erased"}
    assert_error(widget.redeem(), 401, "unauthorized")


def test_a_suspended_member_may_look_but_not_redeem(app, api, two_members):
    ana, _ = two_members
    widget = widget_for(app, api, ana["id"])
    assert api.patch(f"/v1/members/{ana['id']}", {"status": "suspended"}).status_code == 200
    me = widget.get("/v1/me?include=rewards").get_json()
    assert me["status"] == "suspended"
    assert {r["eligible"] for r in me["rewards"]} == {False}
    assert_error(widget.redeem("free-drink"), 409, "member_inactive")
    assert api.member(ana["id"])["points"]["balance"] == 171


def test_unit_tokens_round_trip_and_expire_at_the_second():
    now = datetime(2026, 11, 10, 15, 0, 0, 500_000, tzinfo=UTC)
    issued = widget_tokens.issue("secret", "mem_a", now, timedelta(hours=1))
    assert issued.expires_at == datetime(2026, 11, 10, 16, 0, 0, tzinfo=UTC)
    assert widget_tokens.verify("secret", issued.token, now).member_id == "mem_a"
    with pytest.raises(widget_tokens.TokenExpired):
        widget_tokens.verify("secret", issued.token, issued.expires_at)
    with pytest.raises(widget_tokens.TokenRejected):
        widget_tokens.verify("other", issued.token, now)


# --------------------------------------------------------------------------- CORS


def test_cors_only_for_configured_origins(app, api, two_members):
    app.config["WIDGET_ALLOWED_ORIGINS"] = f"{SHOP}/, https://other.example.com"
    widget = widget_for(app, api, two_members[0]["id"])
    allowed = widget.get("/v1/me", Origin=SHOP)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Origin" in allowed.headers["Vary"]
    assert allowed.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Credentials" not in allowed.headers

    refused = widget.get("/v1/me", Origin="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Origin" not in widget.get("/v1/me").headers

    expired = Widget(app.test_client(), widget_tokens.PREFIX + "x").get("/v1/me", Origin=SHOP)
    assert expired.status_code == 401
    assert expired.headers["Access-Control-Allow-Origin"] == SHOP  # so the widget can read the 401


@pytest.mark.parametrize("origin, allowed", [(SHOP, True), ("https://evil.example.com", False),
                                             ("https://shop.example.com.evil.test", False)])
def test_preflight_is_answered_for_the_widgets_headers(app, origin, allowed):
    app.config["WIDGET_ALLOWED_ORIGINS"] = SHOP
    response = app.test_client().options("/v1/me/redemptions", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
    assert response.status_code == 200
    if allowed:
        assert response.headers["Access-Control-Allow-Origin"] == origin
        headers = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type", "idempotency-key"} <= headers
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
    else:
        assert not any(h.startswith("Access-Control-Allow") for h in response.headers.keys())


def test_no_cors_anywhere_by_default_or_outside_v1_me(app, api, two_members):
    assert app.config["WIDGET_ALLOWED_ORIGINS"] == ""
    widget = widget_for(app, api, two_members[0]["id"])
    assert "Access-Control-Allow-Origin" not in widget.get("/v1/me", Origin=SHOP).headers
    app.config["WIDGET_ALLOWED_ORIGINS"] = SHOP
    till = api.client.get("/v1/rewards", headers=api.headers(idempotency_key=False, extra={"Origin": SHOP}))
    assert till.status_code == 200
    assert "Access-Control-Allow-Origin" not in till.headers


# --------------------------------------------------------------------------- widget.js and /demo


def test_widget_js_is_served_with_an_etag_and_a_short_public_cache(app):
    client = app.test_client()
    first = client.get("/widget.js")
    assert first.status_code == 200
    assert first.mimetype == "text/javascript"
    assert first.data == WIDGET_JS.read_bytes()
    assert first.headers["Cache-Control"] == "public, max-age=300"
    again = client.get("/widget.js", headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.data) == (304, b"")


def test_widget_js_fits_its_20_kb_budget_and_calls_only_its_own_api():
    source = WIDGET_JS.read_text()
    assert len(gzip.compress(source.encode())) <= 20 * 1024  # gzipped, as it is served
    code = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    assert not re.search(r"https?://", code), "the widget loads nothing from other hosts"
    assert set(re.findall(r"'(/v1/[^'?]*)", code)) == {"/v1/me", "/v1/me/redemptions"}
    for required in ("attachShadow", "Intl.DateTimeFormat", "--loyalty-brand", "--loyalty-font",
                     "--loyalty-radius", "Idempotency-Key", "role: 'progressbar'"):
        assert required in code


def test_demo_is_off_unless_configured(app):
    assert app.test_client().get("/demo").status_code == 404


def test_openapi_documents_the_widget_surface(app):
    paths = app.test_client().get("/openapi.json").get_json()["paths"]
    assert set(paths["/v1/me"]) == {"get"}
    assert set(paths["/v1/me/transactions"]) == {"get"}
    assert set(paths["/v1/me/rewards"]) == {"get"}
    assert set(paths["/v1/me/redemptions"]) == {"get", "post"}
    assert set(paths["/v1/members/{member_id}/widget-tokens"]) - {"parameters"} == {"post"}
    assert set(paths["/widget.js"]) == {"get"}
    include = next(p for p in paths["/v1/me"]["get"]["parameters"] if p["name"] == "include")
    assert include["in"] == "query"
