"""Which member a checkout belongs to, and what an operator sees when none does.

Order: ``metadata.loyalty_member_id``, ``client_reference_id`` (member id or
external_id), the Stripe customer (a member's ``stripe_customer_id``), the
customer's email.
"""

import pytest
from freezegun import freeze_time

from tests.stripe.fakes import NOW, Payment, checkout_event, other_event, refund_event

WELCOME = 50


def balance(api, member_id: str) -> int:
    return api.member(member_id)["points"]["balance"]


PATHS = {
    "metadata.loyalty_member_id": lambda m: {"metadata": {"loyalty_member_id": m["id"]}},
    "client_reference_id as member id": lambda m: {"client_reference_id": m["id"]},
    "client_reference_id as external_id": lambda m: {"client_reference_id": m["external_id"]},
    "customer": lambda m: {"customer": m["stripe_customer_id"]},
    "email": lambda m: {"email": "Ana.Lima@Example.COM"},
}


@freeze_time(NOW)
@pytest.mark.parametrize("path", PATHS)
def test_each_way_of_matching_a_member_awards_the_purchase(app, api, webhooks, db_backend, path):
    member = api.enroll(email="ana.lima@example.com", stripe_customer_id="cus_TaK9mW2xQ7vB4n")
    fields = {"email": None, **PATHS[path](member)}
    receipt = webhooks.accepted(checkout_event(Payment(), **fields))
    assert (receipt["status"], receipt["member_id"]) == ("processed", member["id"]), receipt
    assert balance(api, member["id"]) == WELCOME + 12


@freeze_time(NOW)
@pytest.mark.parametrize(("winner", "loser"), [
    ("metadata.loyalty_member_id", "client_reference_id as member id"),
    ("client_reference_id as external_id", "customer"),
    ("customer", "email"),
])
def test_an_earlier_way_wins_over_a_later_one(app, api, webhooks, winner, loser):
    first = api.enroll(email="first@example.com", stripe_customer_id="cus_First0000001")
    second = api.enroll(email="ana.lima@example.com", stripe_customer_id="cus_Second000002")
    fields = {"email": None, **PATHS[loser](second), **PATHS[winner](first)}
    receipt = webhooks.accepted(checkout_event(Payment(), **fields))
    assert receipt["member_id"] == first["id"], receipt
    assert (balance(api, first["id"]), balance(api, second["id"])) == (WELCOME + 12, WELCOME)


@freeze_time(NOW)
def test_an_unknown_member_id_in_metadata_falls_back_to_the_email(app, api, webhooks):
    member = api.enroll(email="ana@example.com")
    receipt = webhooks.accepted(checkout_event(Payment(), metadata={"loyalty_member_id": "mem_gone"}))
    assert receipt["member_id"] == member["id"]


@freeze_time(NOW)
def test_an_email_two_members_share_matches_neither(app, api, webhooks):
    api.enroll(email="family@example.com")
    api.enroll(email="family@example.com")
    receipt = webhooks.accepted(checkout_event(Payment(), email="family@example.com"))
    assert receipt["status"] == "unmatched"
    assert "email 'family@example.com' (several members)" in receipt["reason"]


def test_unmatched_and_unhandled_events_answer_200_and_are_listed_for_an_operator(
        app, api, admin_api, webhooks, db_backend):
    with freeze_time(NOW) as frozen:
        member = api.enroll(email="ana@example.com")
        matched = webhooks.accepted(checkout_event(Payment(), email="ana@example.com"))
        frozen.tick(1)
        payment = Payment(amount=4200)
        unmatched = webhooks.accepted(checkout_event(payment, email="stranger@example.com",
                                                     customer="cus_Nobody12345"))
        frozen.tick(1)
        unhandled = webhooks.accepted(other_event("customer.created"))
    assert matched["status"] == "processed"
    assert (unmatched["status"], unhandled["status"]) == ("unmatched", "unhandled")
    assert "customer 'cus_Nobody12345' (no member)" in unmatched["reason"]
    assert balance(api, member["id"]) == WELCOME + 12

    response = admin_api.get("/v1/stripe/unmatched")
    assert response.status_code == 200
    page = response.get_json()
    assert page["next_cursor"] is None
    assert [(e["id"], e["status"], e["type"]) for e in page["data"]] == [
        (unhandled["id"], "unhandled", "customer.created"),
        (unmatched["id"], "unmatched", "checkout.session.completed"),
    ]
    listed = page["data"][1]
    assert (listed["email"], listed["stripe_customer_id"], listed["amount"], listed["currency"],
            listed["source_id"], listed["member_id"]) == (
        "stranger@example.com", "cus_Nobody12345", 4200, "USD", payment.payment_intent, None)

    only = admin_api.get("/v1/stripe/unmatched?status=unhandled").get_json()["data"]
    assert [e["id"] for e in only] == [unhandled["id"]]


@freeze_time(NOW)
@freeze_time(NOW)
def test_the_operators_list_pages_with_a_cursor(app, admin_api, webhooks):
    delivered = [webhooks.accepted(other_event())["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = admin_api.get(f"/v1/stripe/unmatched{query}").get_json()
        assert len(page["data"]) <= 2
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(delivered) and len(seen) == 5


def test_the_operators_list_needs_an_admin_key(app, api):
    assert api.get("/v1/stripe/unmatched").status_code == 403
    assert app.test_client().get("/v1/stripe/unmatched").status_code == 401


@pytest.mark.parametrize("query", ["?cursor=bm9wZQ", "?status=lost", "?limit=0"])
def test_bad_list_queries_are_validation_errors(admin_api, query):
    response = admin_api.get(f"/v1/stripe/unmatched{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


@freeze_time(NOW)
def test_an_unmatched_event_resent_after_the_operator_fixed_the_member_earns_once(app, api, webhooks, db_backend):
    member = api.enroll(email="someone.else@example.com")
    event = checkout_event(Payment(), email="ana@example.com", customer="cus_Fixed0000001")
    assert webhooks.accepted(event)["status"] == "unmatched"
    assert api.patch(f"/v1/members/{member['id']}", {"stripe_customer_id": "cus_Fixed0000001"}).status_code == 200
    resent = webhooks.accepted(event)
    assert (resent["status"], resent["member_id"], resent["duplicate"]) == ("processed", member["id"], False)
    assert webhooks.accepted(event)["duplicate"] is True
    assert balance(api, member["id"]) == WELCOME + 12


@freeze_time(NOW)
@pytest.mark.parametrize("path", PATHS)
def test_a_payment_for_a_merged_duplicate_lands_on_the_survivor_and_so_does_its_refund(app, api, admin_api, webhooks,
                                                                                        db_backend, path):
    survivor = api.enroll(email="ana.lima@example.com")
    duplicate = api.enroll(email="ana.lima@example.com", stripe_customer_id="cus_TaK9mW2xQ7vB4n")
    merged = admin_api.post(f"/v1/members/{survivor['id']}/merge", {"member_id": duplicate["id"]})
    assert merged.status_code == 200, merged.get_json()
    payment = Payment()
    receipt = webhooks.accepted(checkout_event(payment, **{"email": None, **PATHS[path](duplicate)}))
    assert (receipt["status"], receipt["member_id"]) == ("processed", survivor["id"]), receipt
    assert balance(api, survivor["id"]) == 2 * WELCOME + 12
    refund = webhooks.accepted(refund_event(payment, amount_refunded=1250))
    assert refund["status"] == "processed", refund
    assert balance(api, survivor["id"]) == 2 * WELCOME
