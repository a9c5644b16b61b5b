"""Compatibility tests: users, sign-up, password login, password change, logs and brute-force
blocks through the official auth0-python SDK (v5) against a running callsign server.

Besides the variables test_foundation.py reads, scripts/compat exports:

  CALLSIGN_COMPAT_DATA_DIR  the server's data dir: the development email sink writes every email
                            as one JSON line to <data dir>/email-outbox.ndjson; the password-reset
                            link is read from there, the way a user would read their inbox.

Every call to the server goes through the SDK's public API, except the hosted reset page
(`/lo/reset`), which a browser would drive: plain `requests`, trusting the self-signed certificate
through REQUESTS_CA_BUNDLE like the SDK's Authentication API client does.

The suite owns its data: every email and name is unique per run, so it does not depend on (or
disturb) the node suite, which runs against the same server afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from pathlib import Path

import pytest
import requests

from auth0.authentication import Database, GetToken, RevokeToken, Users
from auth0.authentication.exceptions import Auth0Error, RateLimitError
from auth0.management import ManagementClient
from auth0.management.core.api_error import ApiError
from auth0.management.errors import NotFoundError

CONNECTION = "Username-Password-Authentication"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
# Auth0's brute-force protection: 10 consecutive failures for one user from one IP.
BRUTE_FORCE_THRESHOLD = 10
# A UK number from Ofcom's drama range, in the three spellings the search must treat as one.
# (The node suite uses the next number, so the suites never see each other's users.)
PHONE_E164 = "+442079460958"
PHONE_SPELLINGS = ("+44 20 7946 0958", "+442079460958", "0044 20 7946 0958")
# Argon2 on a small shared CI machine can be slow; the SDK's default timeout is 5 s.
AUTH_TIMEOUT = 30.0
# How long the outbox dispatcher may take to write an email (it is woken after the commit).
OUTBOX_WAIT_SECS = 20.0
RESET_LINK = re.compile(r"https://[^\s\"'<>]+/lo/reset\?ticket=[A-Za-z0-9._~%-]+")


# --------------------------------------------------------------------------------------------
# helpers and fixtures


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        # Fail, never skip: a skipped compat suite would look green in CI.
        pytest.fail(f"{name} is not set; run these tests through scripts/compat", pytrace=False)
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


def unique_email(tag: str) -> str:
    return f"compat-py-{tag}-{uuid.uuid4().hex[:12]}@example.com"


def strong_password() -> str:
    """Meets any of Auth0's password policies and shares nothing with the user's email."""
    return f"Zq7!{uuid.uuid4().hex[:10]}-Wx"


def delete_quietly(fn, *args) -> None:
    """Best-effort cleanup used in `finally:` blocks after a failure already happened."""
    try:
        fn(*args)
    except ApiError:
        pass


def eventually(fn, what: str, timeout: float = 10.0):
    """Calls fn until it returns something truthy; logs and emails are written after the
    response (Auth0's own logs are eventually consistent too)."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)
        time.sleep(0.2)


@pytest.fixture(scope="module")
def domain() -> str:
    return _env("CALLSIGN_DOMAIN")


@pytest.fixture(scope="module")
def data_dir() -> Path:
    path = Path(_env("CALLSIGN_COMPAT_DATA_DIR"))
    assert path.is_dir(), f"CALLSIGN_COMPAT_DATA_DIR={path} is not a directory"
    return path


@pytest.fixture(scope="module")
def mgmt(domain: str) -> ManagementClient:
    # The SDK fetches (and caches) its own Management API token with client_credentials.
    return ManagementClient(
        domain=domain,
        client_id=_env("CALLSIGN_CLIENT_ID"),
        client_secret=_env("CALLSIGN_CLIENT_SECRET"),
    )


@pytest.fixture(scope="module")
def app(mgmt: ManagementClient):
    """A confidential application allowed the password grants and refresh tokens. New
    applications are enabled on every database connection, so it can log users in at once."""
    created = mgmt.clients.create(
        name=f"compat-py-login-{uuid.uuid4().hex[:12]}",
        app_type="regular_web",
        grant_types=["password", PASSWORD_REALM, "refresh_token"],
    )
    assert created.client_id and created.client_secret, created
    yield created
    delete_quietly(mgmt.clients.delete, created.client_id)


@pytest.fixture(scope="module")
def database(domain: str, app) -> Database:
    return Database(domain, app.client_id, timeout=AUTH_TIMEOUT)


@pytest.fixture(scope="module")
def get_token(domain: str, app) -> GetToken:
    return GetToken(domain, app.client_id, app.client_secret, timeout=AUTH_TIMEOUT)


def login(get_token: GetToken, username: str, password: str, scope: str | None = None) -> dict:
    return get_token.login(username=username, password=password, realm=CONNECTION, scope=scope)


def login_error(get_token: GetToken, username: str, password: str) -> Auth0Error:
    with pytest.raises(Auth0Error) as excinfo:
        login(get_token, username, password)
    return excinfo.value


def signup(database: Database, email: str, password: str, **extra) -> tuple[str, dict]:
    """Signs up through the SDK; returns the Management user id and the raw response."""
    body = database.signup(email=email, password=password, connection=CONNECTION, **extra)
    assert isinstance(body, dict), body
    identity = body.get("_id")
    assert isinstance(identity, str) and identity, body
    assert not identity.startswith("auth0|"), f"_id is the identity id, without provider: {body}"
    return f"auth0|{identity}", body


def user_ids(pager) -> list[str]:
    return [u.user_id for u in pager]


def log_types(mgmt: ManagementClient, user_id: str) -> list[str]:
    return [entry.type for entry in mgmt.users.logs.list(user_id, per_page=100)]


def wait_for_logs(mgmt: ManagementClient, user_id: str, wanted: set[str]) -> list[str]:
    seen: list[str] = []

    def check():
        seen[:] = log_types(mgmt, user_id)
        return wanted <= set(seen)

    try:
        eventually(check, f"log types {sorted(wanted)} for {user_id}")
    except pytest.fail.Exception:
        pytest.fail(f"user {user_id}: wanted log types {sorted(wanted)}, got {seen}", pytrace=False)
    return seen


def read_outbox(data_dir: Path) -> list[dict]:
    path = data_dir / "email-outbox.ndjson"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def wait_for_email(data_dir: Path, to: str, kind: str, after: int = 0) -> dict:
    """The first email of `kind` to `to` beyond the first `after` such emails."""

    def find():
        found = [m for m in read_outbox(data_dir) if m.get("to") == to and m.get("type") == kind]
        return found[after] if len(found) > after else None

    return eventually(find, f"a {kind!r} email to {to} in the outbox", OUTBOX_WAIT_SECS)


def reset_link(email: dict) -> str:
    for field in ("text", "html"):
        match = RESET_LINK.search(email.get(field) or "")
        if match:
            return match.group(0)
    pytest.fail(f"no /lo/reset link in the email: {email}", pytrace=False)


# --------------------------------------------------------------------------------------------
# Management API: users


def test_user_crud_search_and_metadata_merge(mgmt: ManagementClient):
    email = unique_email("crud")
    # Mixed case on the way in: Auth0 stores database users' emails in lower case.
    mixed = email[0].upper() + email[1:]
    phone_email = unique_email("phone")
    created = mgmt.users.create(
        connection=CONNECTION,
        email=mixed,
        password=strong_password(),
        given_name="Ada",
        family_name="Lovelace",
        user_metadata={"theme": "dark", "prefs": {"lang": "en", "tz": "UTC"}, "drop": 1},
        app_metadata={"plan": "free"},
    )
    phone_user = None
    try:
        user_id = created.user_id
        assert user_id and user_id.startswith("auth0|"), created
        assert created.email == email, created
        assert created.email_verified is False, created
        assert created.given_name == "Ada" and created.family_name == "Lovelace", created
        assert created.created_at and created.updated_at, created
        identities = created.identities or []
        assert [(i.connection, i.provider, i.is_social) for i in identities] == [
            (CONNECTION, "auth0", False)
        ], identities
        assert f"auth0|{identities[0].user_id}" == user_id, identities
        # Auth0 defaults: name = email, nickname = the email's local part.
        assert created.name == email and created.nickname == email.split("@")[0], created

        phone_user = mgmt.users.create(
            connection=CONNECTION,
            email=phone_email,
            phone_number=PHONE_SPELLINGS[0],
            password=strong_password(),
        )
        assert phone_user.phone_number == PHONE_E164, "stored in E.164"
        assert phone_user.phone_verified is False, phone_user

        # Search by email (q, Lucene syntax; include_totals=true is the SDK default).
        found = mgmt.users.list(q=f'email:"{email}"', search_engine="v3")
        assert [u.user_id for u in found.response.users or []] == [user_id], found.response
        assert found.response.total == 1, found.response
        assert found.response.start == 0, found.response
        assert user_ids(mgmt.users.list(q=f'email:"{mixed}"')) == [user_id], "case-insensitive"
        by_email = mgmt.users.list_users_by_email(email=email)
        assert [u.user_id for u in by_email] == [user_id], by_email

        # Search by phone: every spelling of the same number finds the same user.
        for spelling in PHONE_SPELLINGS:
            ids = user_ids(mgmt.users.list(q=f'phone_number:"{spelling}"'))
            assert ids == [phone_user.user_id], (spelling, ids)

        got = mgmt.users.get(user_id)
        assert got.user_id == user_id and got.email == email, got
        assert got.user_metadata == {"theme": "dark", "prefs": {"lang": "en", "tz": "UTC"}, "drop": 1}
        assert got.app_metadata == {"plan": "free"}, got

        # Metadata PATCH merges top-level keys; a nested object is replaced; null removes a key.
        updated = mgmt.users.update(
            user_id,
            user_metadata={"prefs": {"lang": "fr"}, "drop": None, "added": True},
            given_name="Augusta",
        )
        want = {"theme": "dark", "prefs": {"lang": "fr"}, "added": True}
        assert updated.user_metadata == want, updated.user_metadata
        assert updated.app_metadata == {"plan": "free"}, "untouched"
        assert updated.given_name == "Augusta" and updated.family_name == "Lovelace", updated
        again = mgmt.users.get(user_id)
        assert again.user_metadata == want, again.user_metadata
        assert again.updated_at and again.updated_at >= got.updated_at, (got, again)
    finally:
        delete_quietly(mgmt.users.delete, created.user_id)
        if phone_user is not None:
            delete_quietly(mgmt.users.delete, phone_user.user_id)

    with pytest.raises(NotFoundError) as excinfo:
        mgmt.users.get(created.user_id)
    body = excinfo.value.body
    assert excinfo.value.status_code == 404, body
    assert isinstance(body, dict) and body.get("statusCode") == 404, body
    assert body.get("error") == "Not Found" and body.get("errorCode") == "inexistent_user", body
    # A second DELETE of the same id also succeeds (recorded Auth0 behaviour).
    mgmt.users.delete(created.user_id)
    assert user_ids(mgmt.users.list(q=f'email:"{email}"')) == []
    for spelling in PHONE_SPELLINGS:
        assert user_ids(mgmt.users.list(q=f'phone_number:"{spelling}"')) == [], spelling


def test_create_user_twice_is_a_conflict(mgmt: ManagementClient):
    email = unique_email("dup")
    first = mgmt.users.create(connection=CONNECTION, email=email, password=strong_password())
    try:
        with pytest.raises(ApiError) as excinfo:
            mgmt.users.create(connection=CONNECTION, email=email, password=strong_password())
        assert excinfo.value.status_code == 409, excinfo.value.body
        assert excinfo.value.body.get("message") == "The user already exists.", excinfo.value.body
    finally:
        delete_quietly(mgmt.users.delete, first.user_id)


# --------------------------------------------------------------------------------------------
# Authentication API: sign-up, password-realm login, userinfo, revoke; logs


def test_signup_login_userinfo_revoke_and_logs(
    mgmt: ManagementClient, domain: str, app, database: Database, get_token: GetToken
):
    email = unique_email("signup")
    password = strong_password()
    user_id, body = signup(
        database, email, password, given_name="Grace", user_metadata={"source": "compat"}
    )
    try:
        assert body.get("email") == email and body.get("email_verified") is False, body
        assert body.get("given_name") == "Grace", body

        with pytest.raises(Auth0Error) as dup:
            database.signup(email=email, password=strong_password(), connection=CONNECTION)
        assert (dup.value.status_code, dup.value.error_code) == (400, "user_exists"), dup.value

        user = mgmt.users.get(user_id)
        assert user.email == email and user.user_metadata == {"source": "compat"}, user

        tokens = login(get_token, email, password, scope="openid profile email offline_access")
        assert tokens.get("token_type") == "Bearer", tokens
        assert isinstance(tokens.get("expires_in"), int) and tokens["expires_in"] > 0, tokens
        assert set(tokens.get("scope", "").split()) >= {"openid", "profile", "email"}, tokens
        assert tokens.get("refresh_token"), "offline_access with the refresh_token grant"

        access = jwt_payload(tokens["access_token"])
        assert access["iss"] == f"https://{domain}/", access
        assert access["sub"] == user_id, access
        assert f"https://{domain}/userinfo" in audiences(access), access
        assert access.get("gty") == "password", access
        assert access.get("azp") == app.client_id, access

        id_claims = jwt_payload(tokens["id_token"])
        assert id_claims["iss"] == f"https://{domain}/", id_claims
        assert id_claims["sub"] == user_id, id_claims
        assert app.client_id in audiences(id_claims), id_claims
        assert id_claims.get("email") == email, id_claims
        assert id_claims.get("email_verified") is False, id_claims

        info = Users(domain, timeout=AUTH_TIMEOUT).userinfo(tokens["access_token"])
        assert info.get("sub") == user_id, info
        assert info.get("email") == email and info.get("email_verified") is False, info
        assert info.get("given_name") == "Grace", info

        # The login shows up on the user (logins_count, last_login).
        after = mgmt.users.get(user_id)
        assert after.logins_count == 1, after
        assert after.last_login, after

        # The refresh token works, then is revoked (200, empty body), then is refused.
        refreshed = get_token.refresh_token(tokens["refresh_token"])
        assert refreshed.get("access_token"), refreshed
        current = refreshed.get("refresh_token") or tokens["refresh_token"]
        RevokeToken(domain, app.client_id, app.client_secret, timeout=AUTH_TIMEOUT).revoke_refresh_token(
            current
        )
        with pytest.raises(Auth0Error) as revoked:
            get_token.refresh_token(current)
        assert (revoked.value.status_code, revoked.value.error_code) == (403, "invalid_grant"), revoked.value

        wrong = login_error(get_token, email, password + "-wrong")
        assert (wrong.status_code, wrong.error_code) == (403, "invalid_grant"), wrong
        assert wrong.message == "Wrong email or password.", wrong
        unknown = login_error(get_token, unique_email("nobody"), password)
        assert (unknown.status_code, unknown.error_code) == (403, "invalid_grant"), unknown
        assert unknown.message == wrong.message, "an unknown user is indistinguishable"

        # Logs: the user's own log (`ss` sign-up, `s` login, `fp` wrong password) and the
        # tenant log (newest first) both carry them.
        wait_for_logs(mgmt, user_id, {"ss", "s", "fp"})
        recent = list(mgmt.logs.list(per_page=100, sort="date:-1").response.logs or [])
        mine = [e for e in recent if e.user_id == user_id]
        assert {"ss", "s", "fp"} <= {e.type for e in mine}, [(e.type, e.user_id) for e in recent]
        success = next(e for e in mine if e.type == "s")
        assert success.client_id == app.client_id, success
        assert success.connection == CONNECTION, success
        assert success.date and success.log_id, success
        dates = [str(e.date) for e in recent]
        assert dates == sorted(dates, reverse=True), "sort=date:-1 is newest first"
    finally:
        delete_quietly(mgmt.users.delete, user_id)


# --------------------------------------------------------------------------------------------
# Password change: /dbconnections/change_password, the email, the hosted reset page


def test_change_password_through_the_emailed_link(
    mgmt: ManagementClient, database: Database, get_token: GetToken, data_dir: Path
):
    email = unique_email("reset")
    old_password, new_password = strong_password(), strong_password()
    user_id, _ = signup(database, email, old_password)
    try:
        sent = "We've just sent you an email to reset your password."
        assert database.change_password(email=email, connection=CONNECTION) == sent
        # Same answer for an unknown user, and nothing is sent.
        nobody = unique_email("nobody")
        assert database.change_password(email=nobody, connection=CONNECTION) == sent

        message = wait_for_email(data_dir, email, "change_password")
        assert message.get("subject"), message
        link = reset_link(message)

        session = requests.Session()  # trusts the server certificate via REQUESTS_CA_BUNDLE
        page = session.get(link, timeout=AUTH_TIMEOUT)
        assert page.status_code == 200, (page.status_code, page.text[:500])
        assert "text/html" in page.headers.get("content-type", ""), page.headers
        ticket = re.search(r'name="ticket"\s+value="([^"]+)"', page.text)
        assert ticket, page.text[:2000]
        action = f"{link.split('/lo/reset')[0]}/lo/reset"

        mismatch = session.post(
            action,
            data={"ticket": ticket.group(1), "password": new_password, "confirm": new_password + "x"},
            timeout=AUTH_TIMEOUT,
        )
        assert mismatch.status_code == 400, (mismatch.status_code, mismatch.text[:500])
        # The old password still works: nothing changed.
        assert login(get_token, email, old_password).get("access_token")

        done = session.post(
            action,
            data={"ticket": ticket.group(1), "password": new_password, "confirm": new_password},
            timeout=AUTH_TIMEOUT,
        )
        assert done.status_code == 200, (done.status_code, done.text[:500])
        reused = session.post(
            action,
            data={"ticket": ticket.group(1), "password": new_password, "confirm": new_password},
            timeout=AUTH_TIMEOUT,
        )
        assert reused.status_code == 400, "a ticket works once"

        old = login_error(get_token, email, old_password)
        assert (old.status_code, old.error_code) == (403, "invalid_grant"), old
        assert login(get_token, email, new_password).get("access_token")

        user = mgmt.users.get(user_id)
        assert user.last_password_reset, user
        wait_for_logs(mgmt, user_id, {"scpr", "scp"})
        assert not [m for m in read_outbox(data_dir) if m.get("to") == nobody], "sent to nobody"
    finally:
        delete_quietly(mgmt.users.delete, user_id)


# --------------------------------------------------------------------------------------------
# Brute-force protection and user blocks


def test_brute_force_block_and_unblock(
    mgmt: ManagementClient, get_token: GetToken, database: Database, data_dir: Path
):
    email = unique_email("brute")
    password = strong_password()
    user_id, _ = signup(database, email, password)
    try:
        for attempt in range(1, BRUTE_FORCE_THRESHOLD + 1):
            err = login_error(get_token, email, f"wrong-{attempt}")
            if attempt < BRUTE_FORCE_THRESHOLD:
                assert (err.status_code, err.error_code) == (403, "invalid_grant"), (attempt, err)
            else:
                # Auth0 answers the failure that reaches the threshold either way.
                assert err.error_code in ("invalid_grant", "too_many_attempts"), (attempt, err)

        # Now even the right password is refused from this IP.
        blocked = login_error(get_token, email, password)
        assert isinstance(blocked, RateLimitError), blocked
        assert (blocked.status_code, blocked.error_code) == (429, "too_many_attempts"), blocked

        listed = mgmt.user_blocks.list_by_identifier(identifier=email)
        entries = listed.blocked_for or []
        assert [e.identifier for e in entries] == [email], listed
        assert entries[0].ip == "127.0.0.1", listed
        by_user = mgmt.user_blocks.list(user_id)
        assert [e.ip for e in by_user.blocked_for or []] == ["127.0.0.1"], by_user

        # The user is told (development email sink), with a link to reset the password.
        wait_for_email(data_dir, email, "blocked_account")
        wait_for_logs(mgmt, user_id, {"fp", "limit_wc"})

        mgmt.user_blocks.delete_by_identifier(identifier=email)
        assert not (mgmt.user_blocks.list_by_identifier(identifier=email).blocked_for or [])
        assert login(get_token, email, password).get("access_token")

        # Block again, then lift it by user id.
        for attempt in range(BRUTE_FORCE_THRESHOLD):
            login_error(get_token, email, f"again-{attempt}")
        assert login_error(get_token, email, password).error_code == "too_many_attempts"
        mgmt.user_blocks.delete(user_id)
        assert not (mgmt.user_blocks.list(user_id).blocked_for or [])
        assert login(get_token, email, password).get("access_token")
    finally:
        delete_quietly(mgmt.users.delete, user_id)


def test_user_blocks_for_an_unknown_user_is_404(mgmt: ManagementClient):
    with pytest.raises(NotFoundError) as excinfo:
        mgmt.user_blocks.list("auth0|" + "0" * 24)
    assert excinfo.value.status_code == 404, excinfo.value.body
