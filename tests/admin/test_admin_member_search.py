"""The members desk finds a member as staff type them: a name without its accents, a phone any way."""

import pytest


@pytest.fixture
def ana(api):
    return api.enroll("pos-ana", first_name="Ana", last_name="López", email="Ana.Lopez@example.com",
                      phone="+1 (555) 010-9999")


@pytest.mark.parametrize("typed", ["lopez", "LÓPEZ", "ana lopez", "López Ana", "555 010 9999", "(555) 010-9999",
                                   "+15550109999", "5550109999", "ana.lopez@example", "pos-ana"])
def test_search_finds_her_however_she_is_typed(admin_web, api, ana, typed):
    ben = api.enroll("pos-ben", first_name="Ben", last_name="Lopes", phone="+1 555 010 1234")
    page = admin_web.get("/admin/members", query_string={"q": typed})
    assert page.status_code == 200
    assert ana["id"] in page.get_data(as_text=True)
    assert ben["id"] not in page.get_data(as_text=True), "only who was asked for"


@pytest.mark.parametrize("typed", ["lopezz", "ana perez", "555 010 0000", "%", "_"])
def test_search_finds_no_one_it_should_not(admin_web, ana, typed):
    page = admin_web.get("/admin/members", query_string={"q": typed})
    assert ana["id"] not in page.get_data(as_text=True)


def test_an_erased_member_is_no_longer_found_by_name_or_phone(admin_web, admin_api, ana):
    erased = admin_api.client.delete(f"/v1/members/{ana['id']}", headers=admin_api.headers(idempotency_key=False))
    assert erased.status_code in (200, 204)
    for typed in ("lopez", "555 010 9999"):
        assert ana["id"] not in admin_web.get("/admin/members", query_string={"q": typed}).get_data(as_text=True)
    assert ana["id"] in admin_web.get("/admin/members", query_string={"q": ana["id"]}).get_data(as_text=True)


def test_a_changed_name_is_found_by_its_new_spelling(admin_web, api, ana):
    assert api.patch(f"/v1/members/{ana['id']}", {"last_name": "Muñoz"}).status_code == 200
    assert ana["id"] in admin_web.get("/admin/members", query_string={"q": "munoz"}).get_data(as_text=True)
    assert ana["id"] in admin_web.get("/admin/members", query_string={"q": "MUÑOZ ana"}).get_data(as_text=True)


def test_a_member_brought_in_by_the_bulk_import_is_found_the_same_way(admin_web, runner, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("external_id,email,phone,first_name,last_name\n"
                    "imp-1,zoe@example.com,+44 20 7946 0958,Zoë,Ñúñez\n", encoding="utf-8")
    assert runner.invoke(args=["members", "import", str(path)]).exit_code == 0
    for typed in ("zoe nunez", "(20) 7946-0958", "ZOË"):
        assert "imp-1" in admin_web.get("/admin/members", query_string={"q": typed}).get_data(as_text=True)
