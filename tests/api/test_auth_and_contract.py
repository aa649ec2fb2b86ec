"""Authentication, error format, and the OpenAPI document describing every route."""
from __future__ import annotations

import re
import time


def test_token_flow(client, make_user):  # type: ignore[no-untyped-def]
    make_user("alice", "agent")
    assert client.post("/api/v1/auth/token", json={"username": "alice", "password": "wrong"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "alice"}).status_code == 400
    ok = client.post("/api/v1/auth/token", json={"username": "alice", "password": "pw-secret"}).get_json()
    assert ok["token_type"] == "Bearer" and ok["expires_in"] > 0
    headers = {"Authorization": f"Bearer {ok['access_token']}"}
    assert client.post("/api/v1/tasks/search", json={}, headers=headers).status_code == 200


def test_missing_or_forged_token_is_401_problem(client):  # type: ignore[no-untyped-def]
    for headers in ({}, {"Authorization": "Bearer forged"}, {"Authorization": "Basic abc"}):
        response = client.post("/api/v1/tasks/search", json={}, headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert set(response.get_json()) >= {"type", "title", "status", "detail", "errors"}


def test_expired_token(app, client, make_user):  # type: ignore[no-untyped-def]
    make_user("alice", "agent")
    token = client.post("/api/v1/auth/token", json={"username": "alice", "password": "pw-secret"}).get_json()
    app.config["TOKEN_TTL_SECONDS"] = 1
    try:
        time.sleep(2.1)
        response = client.post("/api/v1/tasks/search", json={},
                               headers={"Authorization": f"Bearer {token['access_token']}"})
        assert response.status_code == 401 and "expired" in response.get_json()["detail"]
    finally:
        app.config["TOKEN_TTL_SECONDS"] = 8 * 3600


def test_openapi_describes_every_route(app, client):  # type: ignore[no-untyped-def]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(re.sub(r"\{[^}]+\}", "{}", path), method) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_spec":
            continue
        path = re.sub(r"<[^>]+>", "{}", rule.rule[len("/api/v1"):])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (rule.rule, method)
    for path, ops in spec["paths"].items():
        for method, operation in ops.items():
            assert operation["responses"], (path, method)
            if method == "post" and "requestBody" not in operation:
                assert path.endswith(("suspension", "resumption", "cancellation", "retry")), path
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"/tasks/search" in docs.data


def test_unknown_api_route_is_problem_json(client, login):  # type: ignore[no-untyped-def]
    api = login("alice", "agent")
    response = api.get("/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert api.delete("/process-instances/search").status_code == 405
