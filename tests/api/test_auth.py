"""API keys: who may call what, how keys are made, shown and stored; the public pages."""

import hashlib
import re

import pytest
import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.models import ApiKey

ENDPOINTS = [
    ("GET", "/v1/members"),
    ("POST", "/v1/members"),
    ("GET", "/v1/members/{member_id}"),
    ("PATCH", "/v1/members/{member_id}"),
    ("GET", "/v1/members/{member_id}/transactions"),
    ("POST", "/v1/members/{member_id}/adjustments"),
    ("POST", "/v1/events"),
    ("POST", "/v1/events/preview"),
    ("GET", "/v1/events/{event_id}"),
    ("POST", "/v1/events/{event_id}/refunds"),
]

CONTRACT_PATHS = {
    "/v1/members": {"get", "post"},
    "/v1/members/{member_id}": {"get", "patch"},
    "/v1/members/{member_id}/transactions": {"get"},
    "/v1/members/{member_id}/adjustments": {"post"},
    "/v1/events": {"post"},
    "/v1/events/preview": {"post"},
    "/v1/events/{event_id}/refunds": {"post"},
}


@pytest.fixture
def sale(api):
    member = api.enroll("cust-42")
    return api.purchase(member["id"], 1000)


def call(client, method: str, template: str, sale: dict, headers: dict):
    path = template.format(member_id=sale["member"]["id"], event_id=sale["event"]["id"])
    bodies = {
        "/v1/members": {"external_id": "cust-new"},
        "/v1/members/{member_id}": {"phone": "555-0100"},
        "/v1/members/{member_id}/adjustments": {"points": 10, "reason": "goodwill"},
        "/v1/events": {"type": "purchase", "member_id": sale["member"]["id"], "amount": 500, "currency": "USD"},
        "/v1/events/preview": {"type": "purchase", "member_id": sale["member"]["id"], "amount": 500,
                               "currency": "USD"},
        "/v1/events/{event_id}/refunds": {"amount": 100},
    }
    json_body = bodies.get(template) if method != "GET" else None
    return client.open(path, method=method, json=json_body, headers={"Idempotency-Key": "k-1", **headers})


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.data
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code


def balance_of(api, sale) -> int:
    return api.member(sale["member"]["id"])["points"]["balance"]


# --------------------------------------------------------------------------- 401


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_credentials_is_unauthorized(app, api, sale, method, path):
    response = call(app.test_client(), method, path, sale, {})
    assert_error(response, 401, "unauthorized")
    assert balance_of(api, sale) == 60


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("authorization", [
    "Bearer lk_00000000_not-a-real-key",
    "Bearer ",
    "Basic dGlsbC0xOnNlY3JldA==",
    "{key}",                 # the right key without the Bearer scheme
    "Token {key}",
])
def test_unknown_or_malformed_credentials_are_unauthorized(app, api, sale, method, path, authorization):
    headers = {"Authorization": authorization.format(key=api.key)}
    assert_error(call(app.test_client(), method, path, sale, headers), 401, "unauthorized")
    assert balance_of(api, sale) == 60


def test_bearer_scheme_is_case_insensitive(app, api, sale):
    response = app.test_client().get(f"/v1/members/{sale['member']['id']}",
                                     headers={"Authorization": f"bearer {api.key}"})
    assert response.status_code == 200


def test_revoked_key_is_unauthorized(app, api, runner, sale):
    assert api.get(f"/v1/members/{sale['member']['id']}").status_code == 200
    result = runner.invoke(args=["keys", "revoke", "--name", "till-1"])
    assert result.exit_code == 0, result.output
    for method, path in ENDPOINTS:
        assert_error(call(app.test_client(), method, path, sale, api.headers(idempotency_key=False)),
                     401, "unauthorized")
    listed = runner.invoke(args=["keys", "list"]).output
    assert "revoked" in next(line for line in listed.splitlines() if line.startswith("till-1"))


def test_revoking_an_unknown_key_fails(runner):
    result = runner.invoke(args=["keys", "revoke", "--name", "nobody"])
    assert result.exit_code != 0


# --------------------------------------------------------------------------- scopes


def test_pos_key_may_not_adjust(api, sale, app):
    response = api.post(f"/v1/members/{sale['member']['id']}/adjustments", {"points": 1000, "reason": "me"})
    assert_error(response, 403, "forbidden")
    assert response.get_json()["error"]["details"] == {"required_scope": "admin"}
    assert balance_of(api, sale) == 60


def test_pos_key_is_forbidden_even_with_a_bad_body(api, sale):
    response = api.post(f"/v1/members/{sale['member']['id']}/adjustments", {"points": 0})
    assert_error(response, 403, "forbidden")


def test_admin_key_may_do_everything_pos_may(admin_api):
    member = admin_api.enroll("cust-7", email="ana@example.com")
    assert admin_api.get(f"/v1/members/{member['id']}").status_code == 200
    assert admin_api.get("/v1/members?external_id=cust-7").get_json()["data"][0]["id"] == member["id"]
    assert admin_api.patch(f"/v1/members/{member['id']}", {"phone": "555-0100"}).status_code == 200
    body = {"type": "purchase", "member_id": member["id"], "amount": 1000, "currency": "USD"}
    assert admin_api.post("/v1/events/preview", body).status_code == 200
    sale = admin_api.post("/v1/events", body)
    assert sale.status_code == 201
    event_id = sale.get_json()["event"]["id"]
    assert admin_api.get(f"/v1/events/{event_id}").status_code == 200
    assert admin_api.post(f"/v1/events/{event_id}/refunds", {"amount": 1000}).status_code == 201
    assert admin_api.get(f"/v1/members/{member['id']}/transactions").status_code == 200
    adjusted = admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": 5, "reason": "test"})
    assert adjusted.status_code == 201
    assert adjusted.get_json()["member"]["points"]["balance"] == 55


# --------------------------------------------------------------------------- the CLI and storage


def test_keys_create_prints_the_key_alone_on_the_last_line_and_it_works(app, runner):
    result = runner.invoke(args=["keys", "create", "--name", "till-9", "--scope", "pos"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.splitlines()[-1]
    assert secret == secret.strip() and " " not in secret and len(secret) >= 32
    assert result.output.splitlines()[-1] == secret

    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/members", headers=headers).status_code == 200
    enrolled = client.post("/v1/members", json={"external_id": "cust-1"}, headers=headers)
    assert enrolled.status_code == 201
    assert client.post(f"/v1/members/{enrolled.get_json()['id']}/adjustments",
                       json={"points": 5, "reason": "x"},
                       headers={**headers, "Idempotency-Key": "a"}).status_code == 403


def test_keys_create_admin_key_may_adjust(app, runner):
    result = runner.invoke(args=["keys", "create", "--name", "office", "--scope", "admin"])
    secret = result.stdout.splitlines()[-1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    member = client.post("/v1/members", json={"external_id": "cust-1"}, headers=headers).get_json()
    response = client.post(f"/v1/members/{member['id']}/adjustments", json={"points": 5, "reason": "x"},
                           headers={**headers, "Idempotency-Key": "a"})
    assert response.status_code == 201
    assert response.get_json()["transaction"]["actor"] == "office"


@pytest.mark.parametrize("args", [
    ["keys", "create", "--name", "till-1", "--scope", "pos"],      # name taken by the pos fixture key
    ["keys", "create", "--name", "till-2", "--scope", "root"],
    ["keys", "create", "--name", "till-2"],
])
def test_keys_create_refuses_bad_requests(runner, pos_key, args):
    result = runner.invoke(args=args)
    assert result.exit_code != 0


def test_keys_list_never_prints_a_secret(runner, pos_key, admin_key):
    created = runner.invoke(args=["keys", "create", "--name", "till-9", "--scope", "pos"])
    secret = created.stdout.splitlines()[-1]
    result = runner.invoke(args=["keys", "list"])
    assert result.exit_code == 0
    names = [line.split("\t")[0] for line in result.output.splitlines()]
    assert names == ["admin-test", "till-1", "till-9"]
    for shown in (secret, pos_key, admin_key):
        assert shown not in result.output
        assert shown.split("_", 2)[-1] not in result.output  # lk_<prefix>_<random>: the random part


def test_database_stores_only_a_hash_of_each_key(app, runner, pos_key, admin_key):
    created = runner.invoke(args=["keys", "create", "--name", "till-9", "--scope", "pos"])
    secrets = [pos_key, admin_key, created.stdout.splitlines()[-1]]
    with app.app_context():
        rows = db.session.scalars(sa.select(ApiKey).order_by(ApiKey.name)).all()
        stored = {row.name: {c.name: getattr(row, c.name) for c in ApiKey.__table__.columns} for row in rows}
        raw_rows = [tuple(r) for r in db.session.execute(sa.text("SELECT * FROM api_keys"))]
        db.session.remove()
    assert set(stored) == {"admin-test", "till-1", "till-9"}
    hashes = {row["key_hash"] for row in stored.values()}
    assert hashes == {hashlib.sha256(s.encode()).hexdigest() for s in secrets}
    for secret in secrets:
        token = secret.rsplit("_", 1)[-1]
        for row in raw_rows:
            for value in row:
                assert secret not in str(value)
                assert token not in str(value)


# --------------------------------------------------------------------------- public pages


def test_healthz_needs_no_key(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_openapi_lists_every_path_of_the_contract_this_service_implements(app):
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    for path, methods in CONTRACT_PATHS.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, sorted(paths[path]))
    documented = {(path, method) for path, item in paths.items() for method in item if method != "parameters"}
    assert {(path, method.lower()) for method, path in ENDPOINTS} <= documented


def test_every_documented_v1_operation_needs_credentials(app):
    client = app.test_client()
    paths = client.get("/openapi.json").get_json()["paths"]
    # Operations documented with `security: []` prove their caller otherwise (Stripe's signature).
    operations = [(method, path) for path, item in paths.items() if path.startswith("/v1/")
                  for method, operation in item.items() if method != "parameters" and operation.get("security") != []]
    assert len(operations) >= len(ENDPOINTS)
    for method, path in operations:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        response = client.open(concrete, method=method.upper(), json={}, headers={"Idempotency-Key": "k"})
        assert_error(response, 401, "unauthorized")


def test_openapi_documents_bearer_auth_and_the_idempotency_key(app):
    spec = app.test_client().get("/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in ("/v1/events", "/v1/events/{event_id}/refunds", "/v1/members/{member_id}/adjustments"):
        parameters = spec["paths"][path]["post"].get("parameters", [])
        key = [p for p in parameters if p.get("name") == "Idempotency-Key"]
        assert key and key[0]["in"] == "header" and key[0]["required"] is True, path


def test_docs_page_loads_its_assets_from_the_service(app):
    client = app.test_client()
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.data.decode()
    assert "/docs/assets/swagger-ui-bundle.js" in html
    assert "/openapi.json" in html
    assert "cdn" not in html.lower() and "https://" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        response = client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200, asset
        assert len(response.data) > 1000
