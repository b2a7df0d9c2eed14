"""/admin's side of publishing safely: why a publish or a rollback was refused, at the top of the page, with
the note kept, and a confirmation for a risky change (tests/api/test_publish_safety.py has the API's)."""

import html

import pytest

from tests.admin.conftest import text_of
from tests.api.test_publish_safety import TYPO, WITH_VISITS, active_version, post_event, put_rules


@pytest.mark.parametrize("note", ["coffee week", ""])
def test_admin_says_why_at_the_top_and_keeps_the_note(admin_web, api, note):
    member = api.enroll()
    assert post_event(api, member["id"], "review").status_code == 201
    page = admin_web.post("/admin/rules/publish", {"yaml": TYPO, "note": note})
    shown = html.unescape(text_of(page))
    if note:
        assert page.status_code == 409
        assert "Not published yet: this change needs a confirmation" in shown
        assert "No rule would handle 'review' any more" in shown
        assert "publish anyway" in shown
    else:
        assert page.status_code == 422 and "Not published" in shown
    assert f'value="{note}"' in page.get_data(as_text=True)
    if note:
        done = admin_web.post("/admin/rules/publish", {"yaml": TYPO, "note": note, "confirm": "1"})
        assert done.status_code == 302


def test_admin_rollback_asks_before_dropping_an_action(admin_web, admin_api, api):
    assert put_rules(admin_api, WITH_VISITS).status_code == 201
    member = api.enroll()
    assert post_event(api, member["id"], "visit").status_code == 201
    page = admin_web.post("/admin/rules/versions/1/activate")
    assert page.status_code == 409
    assert "Not rolled back yet: version 1 needs a confirmation" in text_of(page)
    assert active_version(admin_api) == 2
    assert admin_web.post("/admin/rules/versions/1/activate", {"confirm": "1"}).status_code == 302
    assert active_version(admin_api) == 1
