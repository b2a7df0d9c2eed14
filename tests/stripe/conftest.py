"""Fixtures for the Stripe tests; the fakes and event builders live in ``fakes.py``."""

from collections.abc import Iterator

import pytest

from tests.stripe.fakes import WEBHOOK_SECRET, FakeStripe, Webhooks


@pytest.fixture
def webhooks(app) -> Webhooks:
    """Deliveries signed with the secret the app is configured with."""
    app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    return Webhooks(app)


@pytest.fixture
def fake_stripe(httpserver) -> Iterator[FakeStripe]:
    fake = FakeStripe(httpserver)
    yield fake
    fake.wait_until_idle()
