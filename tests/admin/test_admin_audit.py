"""The audit log page in /admin (tests/api/test_audit.py has what is recorded)."""

import uuid


def test_the_admin_page_lists_the_log(admin_web, admin_api, api):
    member = api.enroll()
    admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": 7, "reason": "birthday cake"},
                   idempotency_key=uuid.uuid4().hex)
    page = admin_web.get("/admin/audit").get_data(as_text=True)
    assert "Adjusted points" in page and "birthday cake" in page and "+7 points" in page
    assert f'href="/admin/members/{member["id"]}"' in page
    assert "birthday cake" not in admin_web.get("/admin/audit?action=publish").get_data(as_text=True)
