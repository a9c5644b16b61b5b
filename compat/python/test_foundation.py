"""Compatibility tests: the official auth0-python SDK (v5) against a running callsign server.

The server is started by scripts/test, which exports:

  CALLSIGN_DOMAIN         host:port of the server (HTTPS, self-signed certificate)
  CALLSIGN_CLIENT_ID      the bootstrap machine-to-machine application
  CALLSIGN_CLIENT_SECRET
  REQUESTS_CA_BUNDLE      cert PEM, trusted by `requests` (Authentication API client)
  SSL_CERT_FILE           cert PEM, trusted by `httpx` (Management API client)

Every call goes through the SDK's public API, so the SDK's own request encoding, response
parsing (pydantic models) and error mapping are what is being tested.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid

import pytest

from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import ManagementClient
from auth0.management.core.api_error import ApiError
from auth0.management.errors import NotFoundError
from auth0.management.types import ResourceServerScope

MANAGEMENT_SCOPES_EXPECTED = (
    "read:clients",
    "create:clients",
    "update:clients",
    "delete:clients",
    "read:client_grants",
    "create:client_grants",
    "delete:client_grants",
    "read:resource_servers",
    "create:resource_servers",
    "delete:resource_servers",
    "read:tenant_settings",
    "update:tenant_settings",
)


# --------------------------------------------------------------------------------------------
# helpers and fixtures


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        # Fail, never skip: a skipped compat suite would look green in CI.
        pytest.fail(f"{name} is not set; run these tests through scripts/test", pytrace=False)
    return value


def jwt_payload(token: str) -> dict:
    """Decode a JWT's payload without verifying it (the test only inspects claims)."""
    parts = token.split(".")
    assert len(parts) == 3, f"not a compact JWS: {token[:40]}..."
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def audiences(claims: dict) -> list[str]:
    aud = claims.get("aud")
    return aud if isinstance(aud, list) else [aud]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def domain() -> str:
    return _env("CALLSIGN_DOMAIN")


@pytest.fixture(scope="module")
def bootstrap() -> tuple[str, str]:
    return _env("CALLSIGN_CLIENT_ID"), _env("CALLSIGN_CLIENT_SECRET")


@pytest.fixture(scope="module")
def management_audience(domain: str) -> str:
    return f"https://{domain}/api/v2/"


@pytest.fixture(scope="module")
def token_response(domain: str, bootstrap: tuple[str, str], management_audience: str) -> dict:
    client_id, client_secret = bootstrap
    return GetToken(domain, client_id, client_secret).client_credentials(audience=management_audience)


@pytest.fixture(scope="module")
def mgmt(domain: str, token_response: dict) -> ManagementClient:
    return ManagementClient(domain=domain, token=token_response["access_token"])


def new_m2m_client(mgmt: ManagementClient, name: str):
    return mgmt.clients.create(
        name=name,
        app_type="non_interactive",
        grant_types=["client_credentials"],
    )


def delete_quietly(fn, *args) -> None:
    """Best-effort cleanup used in `finally:` blocks after a failure already happened."""
    try:
        fn(*args)
    except ApiError:
        pass


# --------------------------------------------------------------------------------------------
# Authentication API: /oauth/token client_credentials


def test_management_token_via_client_credentials(
    token_response: dict, domain: str, bootstrap: tuple[str, str], management_audience: str
):
    body = token_response
    assert isinstance(body, dict), body
    assert isinstance(body.get("access_token"), str) and body["access_token"], body
    assert body.get("token_type") == "Bearer", body
    assert isinstance(body.get("expires_in"), int) and body["expires_in"] > 0, body
    # Auth0 omits `scope` on client_credentials responses; if it is present it must be the
    # space-separated string form, never a list or null.
    if "scope" in body:
        assert isinstance(body["scope"], str), body
    # client_credentials never yields user tokens
    assert "id_token" not in body and "refresh_token" not in body, body

    claims = jwt_payload(body["access_token"])
    client_id, _ = bootstrap
    assert claims["iss"] == f"https://{domain}/", claims
    assert management_audience in audiences(claims), claims
    assert claims["sub"] == f"{client_id}@clients", claims
    assert claims.get("gty") == "client-credentials", claims
    assert claims.get("azp", client_id) == client_id, claims
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int), claims
    assert claims["exp"] > claims["iat"], claims
    assert abs(claims["exp"] - claims["iat"] - body["expires_in"]) <= 5, (claims, body)
    assert abs(claims["iat"] - time.time()) < 300, claims
    granted = set(claims.get("scope", "").split())
    missing = [s for s in MANAGEMENT_SCOPES_EXPECTED if s not in granted]
    assert not missing, f"bootstrap token lacks scopes {missing}: {claims.get('scope')!r}"


def test_wrong_client_secret_is_access_denied(
    domain: str, bootstrap: tuple[str, str], management_audience: str
):
    client_id, _ = bootstrap
    with pytest.raises(Auth0Error) as excinfo:
        GetToken(domain, client_id, "definitely-not-the-secret").client_credentials(
            audience=management_audience
        )
    err = excinfo.value
    assert err.status_code == 401, (err.status_code, err.error_code, err.message)
    assert err.error_code == "access_denied", (err.status_code, err.error_code, err.message)


def test_unknown_client_is_rejected(domain: str, management_audience: str):
    with pytest.raises(Auth0Error) as excinfo:
        GetToken(domain, "no-such-client-" + uuid.uuid4().hex, "x").client_credentials(
            audience=management_audience
        )
    assert excinfo.value.status_code == 401, excinfo.value


def test_management_client_fetches_its_own_token(domain: str, bootstrap: tuple[str, str]):
    # With client_id/client_secret the SDK's TokenProvider posts a form-encoded
    # client_credentials request through httpx (GetToken above posts JSON through requests).
    client_id, client_secret = bootstrap
    mgmt = ManagementClient(domain=domain, client_id=client_id, client_secret=client_secret)
    got = mgmt.clients.get(client_id)
    assert got.client_id == client_id


# --------------------------------------------------------------------------------------------
# Management API: clients


def test_client_crud_and_offset_pagination(mgmt: ManagementClient):
    name = unique("compat-py-client")
    created = new_m2m_client(mgmt, name)
    client_id = created.client_id
    try:
        assert client_id, created
        assert created.name == name
        assert created.app_type == "non_interactive"
        assert list(created.grant_types or []) == ["client_credentials"]
        assert created.client_secret, "create must return the generated client_secret"

        got = mgmt.clients.get(client_id)
        assert got.client_id == client_id
        assert got.name == name
        assert got.app_type == "non_interactive"
        assert list(got.grant_types or []) == ["client_credentials"]

        renamed = name + "-renamed"
        updated = mgmt.clients.update(client_id, name=renamed)
        assert updated.client_id == client_id
        assert updated.name == renamed
        # PATCH is a merge: untouched fields keep their values
        assert updated.app_type == "non_interactive"
        assert list(updated.grant_types or []) == ["client_credentials"]
        assert mgmt.clients.get(client_id).name == renamed

        # Offset pagination (include_totals=true is the SDK default): {start, limit, total, clients}
        first = mgmt.clients.list(per_page=2)
        assert first.response.clients is not None, first.response
        assert len(first.response.clients) <= 2, first.response
        assert first.response.start == 0, first.response
        assert first.response.limit == 2, first.response
        assert first.response.total is not None and first.response.total >= 2, first.response

        # Iterating the pager walks page=0,1,2,... until an empty page.
        pages = list(mgmt.clients.list(per_page=2).iter_pages())
        ids = [c.client_id for page in pages for c in (page.items or [])]
        assert all(len(page.items or []) <= 2 for page in pages)
        assert client_id in ids, f"created client {client_id} not found while paging: {ids}"
        assert len(ids) == len(set(ids)), f"paging returned duplicates: {ids}"
        assert len(ids) == int(first.response.total), (len(ids), first.response.total)
        for i, page in enumerate(pages):
            assert page.response.start == i * 2, (i, page.response)

    finally:
        delete_quietly(mgmt.clients.delete, client_id)

    with pytest.raises(NotFoundError) as excinfo:
        mgmt.clients.get(client_id)
    assert excinfo.value.status_code == 404
    body = excinfo.value.body
    assert isinstance(body, dict), body
    assert body.get("statusCode") == 404 and body.get("error") == "Not Found", body
    assert isinstance(body.get("message"), str) and body["message"], body


def test_rotate_client_secret(mgmt: ManagementClient, domain: str, management_audience: str):
    created = new_m2m_client(mgmt, unique("compat-py-rotate"))
    try:
        old_secret = created.client_secret
        assert old_secret
        rotated = mgmt.clients.rotate_secret(created.client_id)
        assert rotated.client_id == created.client_id
        assert rotated.client_secret and rotated.client_secret != old_secret

        # The old secret no longer authenticates (401); the new one does, and is then refused
        # only because this client has no grant for the Management API (403).
        with pytest.raises(Auth0Error) as old:
            GetToken(domain, created.client_id, old_secret).client_credentials(
                audience=management_audience
            )
        assert (old.value.status_code, old.value.error_code) == (401, "access_denied"), old.value
        with pytest.raises(Auth0Error) as new:
            GetToken(domain, created.client_id, rotated.client_secret).client_credentials(
                audience=management_audience
            )
        assert (new.value.status_code, new.value.error_code) == (403, "access_denied"), new.value
    finally:
        delete_quietly(mgmt.clients.delete, created.client_id)


# --------------------------------------------------------------------------------------------
# Management API: resource servers and client grants, then a token for the new API


def test_resource_server_client_grant_and_token(mgmt: ManagementClient, domain: str):
    app = new_m2m_client(mgmt, unique("compat-py-m2m"))
    identifier = f"https://api.example.test/{uuid.uuid4().hex}"
    rs_id = grant_id = None
    try:
        rs = mgmt.resource_servers.create(
            identifier=identifier,
            name=unique("compat-py-api"),
            scopes=[ResourceServerScope(value="read:things", description="Read things")],
        )
        rs_id = rs.id
        assert rs_id, rs
        assert rs.identifier == identifier
        assert [(s.value, s.description) for s in rs.scopes or []] == [("read:things", "Read things")]
        assert not rs.is_system

        got = mgmt.resource_servers.get(rs_id)
        assert got.id == rs_id and got.identifier == identifier

        listed = [r.identifier for r in mgmt.resource_servers.list(per_page=1)]
        assert identifier in listed, listed
        assert len(listed) == len(set(listed)), listed
        filtered = list(mgmt.resource_servers.list(identifiers=[identifier]))
        assert [r.id for r in filtered] == [rs_id], filtered

        grant = mgmt.client_grants.create(
            client_id=app.client_id, audience=identifier, scope=["read:things"]
        )
        grant_id = grant.id
        assert grant_id, grant
        assert grant.client_id == app.client_id
        assert grant.audience == identifier
        assert list(grant.scope or []) == ["read:things"]

        # Checkpoint pagination: take=1 forces the pager to follow `next` through every grant.
        all_grants = list(mgmt.client_grants.list(take=1))
        assert grant_id in [g.id for g in all_grants], all_grants
        first = mgmt.client_grants.list(take=1)
        assert len(first.response.client_grants or []) <= 1, first.response
        if len(all_grants) > 1:
            assert first.response.next, "more grants exist, so the first page must carry `next`"
        by_audience = list(mgmt.client_grants.list(audience=identifier))
        assert [g.id for g in by_audience] == [grant_id], by_audience
        by_client = list(mgmt.client_grants.list(client_id=app.client_id))
        assert [g.id for g in by_client] == [grant_id], by_client

        token = GetToken(domain, app.client_id, app.client_secret).client_credentials(
            audience=identifier
        )
        assert token.get("token_type") == "Bearer", token
        claims = jwt_payload(token["access_token"])
        assert identifier in audiences(claims), claims
        assert claims.get("scope") == "read:things", claims
        assert claims.get("gty") == "client-credentials", claims
        assert claims.get("sub") == f"{app.client_id}@clients", claims
        assert claims.get("iss") == f"https://{domain}/", claims

        # The same client has no grant for the Management API.
        with pytest.raises(Auth0Error) as denied:
            GetToken(domain, app.client_id, app.client_secret).client_credentials(
                audience=f"https://{domain}/api/v2/"
            )
        assert (denied.value.status_code, denied.value.error_code) == (403, "access_denied")

        mgmt.client_grants.delete(grant_id)
        grant_id = None
        assert list(mgmt.client_grants.list(audience=identifier)) == []
        mgmt.resource_servers.delete(rs_id)
        rs_id = None
        with pytest.raises(NotFoundError):
            mgmt.resource_servers.get(rs_id)
        mgmt.clients.delete(app.client_id)
        with pytest.raises(NotFoundError) as excinfo:
            mgmt.clients.get(app.client_id)
        assert excinfo.value.status_code == 404
    finally:
        if grant_id:
            delete_quietly(mgmt.client_grants.delete, grant_id)
        if rs_id:
            delete_quietly(mgmt.resource_servers.delete, rs_id)
        delete_quietly(mgmt.clients.delete, app.client_id)


# --------------------------------------------------------------------------------------------
# Management API: tenant settings


def test_tenant_settings_get_and_patch(mgmt: ManagementClient):
    before = mgmt.tenants.settings.get()
    new_name = unique("Callsign compat")
    try:
        updated = mgmt.tenants.settings.update(friendly_name=new_name)
        assert updated.friendly_name == new_name
        after = mgmt.tenants.settings.get()
        assert after.friendly_name == new_name
        # PATCH must not drop the fields it was not given
        assert after.support_email == before.support_email
        assert after.enabled_locales == before.enabled_locales
    finally:
        if before.friendly_name is not None:
            mgmt.tenants.settings.update(friendly_name=before.friendly_name)
