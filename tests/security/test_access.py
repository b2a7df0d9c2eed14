"""Who may call what, on every operation the OpenAPI document lists; and no secret in the logs."""

import logging
import re

from tests.conftest import _create_key

#: Operations a `pos` key may not call (contract: rules, adjustments, reports, keys and
#: operator tools are admin's), and the customer's own /v1/me, which takes a widget token.
ADMIN_ONLY = {
    ("POST", "/v1/members/{member_id}/adjustments"), ("POST", "/v1/members/{member_id}/merge"),
    ("GET", "/v1/rules"), ("PUT", "/v1/rules"), ("POST", "/v1/rules/validate"), ("POST", "/v1/rules/simulate"),
    ("POST", "/v1/rules/backtest"), ("GET", "/v1/rules/versions"), ("POST", "/v1/rules/versions/{version}/activate"),
    ("GET", "/v1/reports/summary"), ("GET", "/v1/reports/timeseries"), ("GET", "/v1/audit"),
    ("GET", "/v1/stripe/unmatched"),
    ("GET", "/v1/webhook-endpoints"), ("POST", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"), ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"),
    ("GET", "/v1/webhook-deliveries/{delivery_id}"), ("POST", "/v1/webhook-deliveries/{delivery_id}/redeliver"),
}


def operations(app) -> list[tuple[str, str]]:
    """Every documented /v1 operation that takes a bearer credential."""
    paths = app.test_client().get("/openapi.json").get_json()["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() if path.startswith("/v1/")
                  for method, operation in item.items()
                  if method != "parameters" and operation.get("security") != [])


def is_customer(path: str) -> bool:
    return path == "/v1/me" or path.startswith("/v1/me/")


def call(app, method: str, path: str, credential: str):
    concrete = re.sub(r"\{version\}", "1", path)
    concrete = re.sub(r"\{[^}]+\}", "x", concrete)
    return app.test_client().open(concrete, method=method, json={},
                                  headers={"Authorization": f"Bearer {credential}", "Idempotency-Key": "k-1"})


def test_a_pos_key_is_refused_exactly_the_admin_operations(app, pos_key):
    forbidden = set()
    for method, path in operations(app):
        if is_customer(path):
            continue
        response = call(app, method, path, pos_key)
        assert response.status_code != 401, (method, path)
        if response.status_code == 403:
            assert response.get_json()["error"]["code"] == "forbidden"
            forbidden.add((method, path))
    assert forbidden == ADMIN_ONLY


def test_an_admin_key_is_refused_nothing_but_the_customer_endpoints(app, admin_key):
    for method, path in operations(app):
        response = call(app, method, path, admin_key)
        if is_customer(path):
            assert response.status_code in (401, 403), (method, path)
        else:
            assert response.status_code not in (401, 403), (method, path, response.get_json())


def test_a_revoked_key_is_refused_everywhere_at_once(app, runner):
    key = _create_key(app, "lost-till", "admin")
    assert call(app, "GET", "/v1/members", key).status_code == 200
    assert runner.invoke(args=["keys", "revoke", "--name", "lost-till"]).exit_code == 0
    for method, path in operations(app):
        response = call(app, method, path, key)
        assert response.status_code == 401, (method, path)
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_widget_token_opens_only_the_customer_endpoints(app, api):
    member = api.enroll()
    token = api.post(f"/v1/members/{member['id']}/widget-tokens", {}).get_json()["token"]
    for method, path in operations(app):
        response = call(app, method, path, token)
        if not is_customer(path):
            # 404 where the path names another member: the contract hides that it exists.
            assert response.status_code in (401, 403, 404), (method, path)
            assert response.status_code != 404 or "{member_id}" in path, (method, path)


def test_no_key_token_or_secret_reaches_the_logs(app, api, pos_key, admin_key, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    member = api.enroll(email="ana@example.com")
    token = api.post(f"/v1/members/{member['id']}/widget-tokens", {}).get_json()["token"]
    app.test_client().get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    api.purchase(member["id"], 1250)
    api.get("/v1/members", key="lk_wrong_key_that_is_not_real")
    app.test_client().get("/v1/rules", headers={"Authorization": f"Bearer {admin_key}"})
    captured = capsys.readouterr()
    logged = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    everything = logged + captured.out + captured.err
    assert everything.strip(), "nothing was logged: the check would prove nothing"
    for secret in (pos_key, admin_key, token, "lk_wrong_key_that_is_not_real", app.config["SECRET_KEY"]):
        assert secret not in everything
