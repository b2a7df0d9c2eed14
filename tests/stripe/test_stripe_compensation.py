"""A promotion code Stripe created for a redemption that then did not commit is deactivated.

Stripe is asked for the code last, but the redemption's transaction can still fail after the call:
its webhook record, the commit itself. The code is then deactivated at once; and if even that does
not happen (the process died, Stripe failed the deactivation), the ``sweep-stripe-codes`` step of
``jobs run`` deactivates every active code of ours whose redemption does not exist.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from loyalty import clock
from loyalty.extensions import db
from loyalty.integrations.stripe import gateway_for
from loyalty.models import Redemption
from loyalty.services import redemptions
from tests.stripe.fakes import stripe_settings
from tests.stripe.test_stripe_redemptions import member, points_and_ledger, redeem  # noqa: F401


@pytest.fixture
def stripe_api(app, api, fake_stripe):
    """The POS client, the app connected to the fake Stripe with a timeout a busy machine still meets."""
    app.config.update(stripe_settings(fake_stripe, timeout=10))
    return api


def promotion_codes(fake_stripe) -> list[dict]:
    return [o for o in fake_stripe.objects.values() if o["object"] == "promotion_code"]


def redemption_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Redemption))
        db.session.remove()
    return count


def fail_the_webhook_record(monkeypatch, _fake_stripe):
    """The redemption's webhook record fails to be written, after Stripe made the code; returns the undo."""
    def emit(*_args, **_kwargs):
        raise sa.exc.OperationalError("INSERT INTO outbox …", {}, Exception("server closed the connection"))
    monkeypatch.setattr(redemptions.outbox, "emit", emit)
    return monkeypatch.undo


def fail_the_commit(_monkeypatch, fake_stripe):
    """The first commit after Stripe made the code fails, as a lost connection fails it; returns the undo."""
    session_class = db.session.session_factory.class_
    failed = []

    def refuse(_session):
        if fake_stripe.calls_to("/v1/promotion_codes") and not failed:
            failed.append(True)
            raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))
    event.listen(session_class, "before_commit", refuse)
    return lambda: event.remove(session_class, "before_commit", refuse)


@pytest.mark.parametrize("inject", [fail_the_webhook_record, fail_the_commit])
def test_a_code_whose_redemption_fails_after_the_stripe_call_is_deactivated(
        app, stripe_api, member, fake_stripe, monkeypatch, inject, db_backend):  # noqa: F811
    before = points_and_ledger(stripe_api, member["id"])
    undo = inject(monkeypatch, fake_stripe)
    try:
        response = redeem(stripe_api, member["id"])
    finally:
        undo()
    assert response.status_code == 503, response.get_json()
    [code] = promotion_codes(fake_stripe)
    assert code["active"] is False
    assert fake_stripe.calls_to(rf"/v1/promotion_codes/{code['id']}")[0].params == {"active": "false"}
    assert points_and_ledger(stripe_api, member["id"]) == before
    assert redemption_count(app) == 0
    retried = redeem(stripe_api, member["id"])  # the till tries again: a new code, this one kept
    assert retried.status_code == 201, retried.get_json()
    assert fake_stripe.objects[retried.get_json()["stripe_promotion_code"]]["active"] is True


def create_orphan(app, fake_stripe, redemption_id: str) -> str:
    """A code Stripe holds for a redemption that never committed (the process died before)."""
    from loyalty.engine import load_program
    from tests.conftest import ROOT

    reward = load_program((ROOT / "rules" / "program.yaml").read_text()).reward("five-off")
    gateway = gateway_for(app.config)
    return gateway.create_promotion_code(reward=reward, code=f"ORPHAN{redemption_id[-6:].upper()}",
                                         redemption_id=redemption_id, member_id="mem_gone", customer_id=None,
                                         expires_at=clock.now() + timedelta(days=30)).id


def sweep(runner, *extra):
    return runner.invoke(args=["jobs", "run", "--step", "sweep-stripe-codes", *extra])


def test_the_sweep_deactivates_codes_whose_redemption_does_not_exist_and_keeps_the_others(
        app, runner, stripe_api, member, fake_stripe, db_backend):  # noqa: F811
    kept = redeem(stripe_api, member["id"]).get_json()["stripe_promotion_code"]
    orphans = [create_orphan(app, fake_stripe, f"rdm_orphan{i}") for i in range(3)]
    fake_stripe.objects["promo_elsewhere"] = {  # a code the merchant made by hand: not ours to touch
        "id": "promo_elsewhere", "object": "promotion_code", "active": True, "metadata": {},
        "created": fake_stripe.objects[kept]["created"]}
    app.config["STRIPE_SWEEP_GRACE_SECONDS"] = 0
    result = sweep(runner)
    assert result.exit_code == 0, result.output
    assert "3 orphan promotion codes deactivated" in " ".join(result.output.split())
    assert [fake_stripe.objects[o]["active"] for o in orphans] == [False, False, False]
    assert fake_stripe.objects[kept]["active"] is True
    assert fake_stripe.objects["promo_elsewhere"]["active"] is True
    again = sweep(runner)
    assert again.exit_code == 0 and " 0 orphan" in " ".join(again.output.split())


def test_the_sweep_leaves_a_code_younger_than_the_grace_period(
        app, runner, stripe_api, fake_stripe, db_backend):  # noqa: F811
    """A redemption still in flight (its transaction not yet committed) keeps its code."""
    orphan = create_orphan(app, fake_stripe, "rdm_inflight")
    app.config["STRIPE_SWEEP_GRACE_SECONDS"] = 300
    assert sweep(runner).exit_code == 0
    assert fake_stripe.objects[orphan]["active"] is True


def test_when_the_deactivation_fails_too_the_sweep_finishes_the_job(
        app, runner, stripe_api, member, fake_stripe, monkeypatch, db_backend):  # noqa: F811
    original = fake_stripe._handle_one

    def refuse_deactivation(request):  # refused before Stripe stores an answer for the key, as fail_with does
        if request.path.startswith("/v1/promotion_codes/"):
            return fake_stripe._json(500, {"error": {"type": "api_error", "message": "down"}})
        return original(request)

    monkeypatch.setattr(fake_stripe, "_handle_one", refuse_deactivation)
    undo = fail_the_webhook_record(monkeypatch, fake_stripe)
    assert redeem(stripe_api, member["id"]).status_code == 503
    undo()
    [code] = promotion_codes(fake_stripe)
    assert code["active"] is True  # the compensation failed: the sweep is the backstop
    app.config["STRIPE_SWEEP_GRACE_SECONDS"] = 0
    assert sweep(runner).exit_code == 0
    assert fake_stripe.objects[code["id"]]["active"] is False


def test_without_stripe_the_sweep_does_nothing(app, runner, db_backend):
    result = sweep(runner)
    assert result.exit_code == 0 and " 0 orphan" in " ".join(result.output.split())
