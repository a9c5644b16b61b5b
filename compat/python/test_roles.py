"""Compatibility tests: roles and permissions (Auth0 RBAC) through the official auth0-python
SDK (v5) against a running callsign server.

The Management client's `roles` (create, get, update, list with name_filter, permissions add /
list / delete, users assign / list, delete), `users.roles` (assign, list, delete) and
`users.permissions` (create, list, delete) run the whole lifecycle on an API with RBAC on
(`enforce_policies`) and the `access_token_authz` dialect; `GetToken.login` (password-realm)
then shows the permissions in the access token, and a user who loses the role loses the
permission on the next token.
"""

from __future__ import annotations

import base64
import json
import os
import uuid

import pytest

from auth0.authentication import GetToken
from auth0.management import ManagementClient
from auth0.management.core.api_error import ApiError

CONNECTION = "Username-Password-Authentication"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set; run these tests through scripts/compat", pytrace=False)
    return value


def jwt_part(token: str, i: int) -> dict:
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def quietly(fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except ApiError:
        pass


@pytest.fixture(scope="module")
def domain() -> str:
    return _env("CALLSIGN_DOMAIN")


@pytest.fixture(scope="module")
def mgmt(domain: str) -> ManagementClient:
    return ManagementClient(
        domain=domain,
        client_id=_env("CALLSIGN_CLIENT_ID"),
        client_secret=_env("CALLSIGN_CLIENT_SECRET"),
    )


def test_rbac_lifecycle_and_permissions_in_tokens(mgmt: ManagementClient, domain: str):
    tag = uuid.uuid4().hex[:8]
    audience = f"https://orders-{tag}.example/"
    password = f"Zq7!{uuid.uuid4().hex[:10]}-Wx"
    email = f"compat-py-roles-{tag}@example.com"
    api = mgmt.resource_servers.create(
        identifier=audience,
        name=f"Orders {tag}",
        enforce_policies=True,
        token_dialect="access_token_authz",
        scopes=[{"value": "read:orders", "description": "Read orders"}, {"value": "write:orders"}],
    )
    app = mgmt.clients.create(
        name=f"compat-py-roles-{tag}",
        app_type="regular_web",
        grant_types=["password", PASSWORD_REALM],
    )
    user_id = mgmt.users.create(connection=CONNECTION, email=email, password=password).user_id
    role = mgmt.roles.create(name=f"clerk-{tag}", description="Reads orders")
    try:
        assert role.id.startswith("rol_")
        assert mgmt.roles.get(role.id).name == f"clerk-{tag}"
        assert mgmt.roles.update(role.id, description="Reads the orders").description == "Reads the orders"
        assert [r.id for r in mgmt.roles.list(name_filter=f"CLERK-{tag}")] == [role.id]

        read = {"resource_server_identifier": audience, "permission_name": "read:orders"}
        write = {"resource_server_identifier": audience, "permission_name": "write:orders"}
        mgmt.roles.permissions.add(role.id, permissions=[read])
        listed = list(mgmt.roles.permissions.list(role.id))
        assert [(p.permission_name, p.resource_server_name, p.description) for p in listed] == [
            ("read:orders", f"Orders {tag}", "Read orders")
        ]
        # A permission the API does not define: refused, nothing added.
        with pytest.raises(ApiError) as excinfo:
            mgmt.roles.permissions.add(
                role.id, permissions=[write, {"resource_server_identifier": audience, "permission_name": "fly"}]
            )
        assert excinfo.value.status_code == 400
        assert len(list(mgmt.roles.permissions.list(role.id))) == 1

        mgmt.roles.users.assign(role.id, users=[user_id])
        assert [u.user_id for u in mgmt.roles.users.list(role.id)] == [user_id]
        assert [r.name for r in mgmt.users.roles.list(user_id)] == [f"clerk-{tag}"]
        mgmt.users.permissions.create(user_id, permissions=[write])
        held = {p.permission_name for p in mgmt.users.permissions.list(user_id)}
        assert held == {"read:orders", "write:orders"}

        get_token = GetToken(domain, app.client_id, app.client_secret, timeout=30.0)
        tokens = get_token.login(
            username=email, password=password, realm=CONNECTION, audience=audience, scope="read:orders write:orders"
        )
        claims = jwt_part(tokens["access_token"], 1)
        assert claims["scope"] == "read:orders write:orders"
        assert claims["permissions"] == ["read:orders", "write:orders"]

        # The role taken away: the next token has only the direct permission.
        mgmt.users.roles.delete(user_id, roles=[role.id])
        tokens = get_token.login(
            username=email, password=password, realm=CONNECTION, audience=audience, scope="read:orders write:orders"
        )
        claims = jwt_part(tokens["access_token"], 1)
        assert claims["scope"] == "write:orders"
        assert claims["permissions"] == ["write:orders"]

        mgmt.users.permissions.delete(user_id, permissions=[write])
        assert list(mgmt.users.permissions.list(user_id)) == []
        mgmt.roles.permissions.delete(role.id, permissions=[read])
        assert list(mgmt.roles.permissions.list(role.id)) == []
        mgmt.users.roles.assign(user_id, roles=[role.id])
    finally:
        quietly(mgmt.roles.delete, role.id)
        quietly(mgmt.users.delete, user_id)
        quietly(mgmt.clients.delete, app.client_id)
        quietly(mgmt.resource_servers.delete, api.id)
    with pytest.raises(ApiError) as excinfo:
        mgmt.roles.get(role.id)
    assert excinfo.value.status_code == 404
