"""Compatibility tests: phone MFA (SMS and voice), TOTP, recovery codes and passwordless SMS
through the official auth0-python SDK (v5) against a running callsign server.

auth0-python 5.8.0 has no helpers for Auth0's MFA API (`/mfa/associate`, `/mfa/challenge`,
`/mfa/authenticators`) nor for the MFA grants (`mfa-oob`, `mfa-otp`, `mfa-recovery-code`). Those
steps still go through the SDK's own transport: `GetToken.authenticated_post` / `GetToken.get`
(the public methods its grant helpers are built on), so client authentication, headers and error
parsing (`Auth0Error`, with `.content` for `mfa_required`) are the SDK's. Everything else uses the
SDK's named helpers: `GetToken.login`, `Passwordless.sms`, `GetToken.passwordless_login` and the
Management client (`guardian`, `branding.phone.providers`, `connections`, `users`, `clients`).

Codes are read the way a user reads their phone. Without a tenant phone provider, messages go to
the development phone outbox, `<CALLSIGN_COMPAT_DATA_DIR>/phone-outbox.ndjson` (one JSON line per
message: `to`, `channel`, `type`, `text`). Voice needs a tenant phone provider that can call, and
an enabled provider carries every SMS and call: the MFA tests create a `custom` provider whose
webhook (`configuration.callsign_webhook_url`; scripts/compat allows 127.0.0.1 through
CALLSIGN_OUTBOUND_ALLOW, which also permits plain http there) is a small HTTP
receiver in this process, which records each notification (`recipient`, `delivery_method`,
`message_type`, `as_text`) like a phone would.

Guardian settings are tenant-wide, and test_users.py (and the node suites) log users in without
MFA against the same server: the MFA policy is switched on only for the duration of each MFA test
and every tenant setting is put back afterwards. Phone numbers are unique to this suite (the node
suite uses others), so the outbox lines never mix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from auth0.authentication import GetToken, Passwordless
from auth0.authentication.exceptions import Auth0Error
from auth0.management import ManagementClient
from auth0.management.core.api_error import ApiError

CONNECTION = "Username-Password-Authentication"
SMS_CONNECTION = "sms"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
MFA_OOB = "http://auth0.com/oauth/grant-type/mfa-oob"
MFA_OTP = "http://auth0.com/oauth/grant-type/mfa-otp"
MFA_RECOVERY = "http://auth0.com/oauth/grant-type/mfa-recovery-code"
PASSWORDLESS_OTP = "http://auth0.com/oauth/grant-type/passwordless/otp"
# UK numbers from Ofcom's drama ranges (never assigned). The node suite uses 0910-0919 and
# test_users.py uses 0958/0959.
PHONE_SMS = "+442079460901"
PHONE_VOICE = "+442079460902"
PHONE_PASSWORDLESS = "+442079460903"
AUTH_TIMEOUT = 30.0
# The dispatcher writes a message within about a second of the commit; leave room on a busy box.
OUTBOX_WAIT_SECS = 20.0
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
# A call reads the code digit by digit: "... is, 0, 0, 6, 0, 8, 9."
SPOKEN_CODE = re.compile(r"(?<![\d,])(\d(?:[,\s]+\d){5})(?![,\s]*\d)")


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


def unique_email(tag: str) -> str:
    return f"compat-py-mfa-{tag}-{uuid.uuid4().hex[:12]}@example.com"


def strong_password() -> str:
    return f"Zq7!{uuid.uuid4().hex[:10]}-Wx"


def quietly(fn, *args, **kwargs) -> None:
    """Best-effort cleanup used in `finally:` blocks; never masks the original failure."""
    try:
        fn(*args, **kwargs)
    except ApiError:
        pass


def eventually(fn, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)
        time.sleep(0.2)


def totp(secret_b32: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (HMAC-SHA1), computed here the way an authenticator app would."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


class Webhook:
    """The custom phone provider's receiving end: records every notification callsign POSTs
    (Standard Webhooks headers, body `{"notification": {...}}`) and answers 204."""

    def __init__(self):
        self.received: list[dict] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                signed = all(self.headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
                note = json.loads(body).get("notification", {}) if body else {}
                with hook.lock:
                    hook.received.append({**note, "_signed": signed})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):  # keep pytest output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/phone"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self) -> list[dict]:
        """In the outbox's shape: `to`, `channel` (sms/voice), `type`, `text`."""
        with self.lock:
            got = list(self.received)
        return [
            {
                "to": n.get("recipient"),
                "channel": "voice" if n.get("delivery_method") == "voice" else "sms",
                "type": n.get("message_type"),
                "text": n.get("as_text"),
                "signed": n["_signed"],
            }
            for n in got
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


WEBHOOK: Webhook | None = None


class Phone:
    """One number's messages, from the development outbox and from the test webhook: each
    `next_code` returns the code of the next message sent to that number, so a test never reads
    a stale code."""

    def __init__(self, data_dir: Path, number: str):
        self.path = data_dir / "phone-outbox.ndjson"
        self.number = number
        self.seen = len(self.messages())

    def messages(self) -> list[dict]:
        parsed: list[dict] = []
        if self.path.exists():
            lines = self.path.read_text(encoding="utf-8").splitlines()
            parsed = [json.loads(line) for line in lines if line.strip()]
        if WEBHOOK is not None:
            parsed += WEBHOOK.messages()
        return [m for m in parsed if m.get("to") == self.number]

    def next_message(self) -> dict:
        def find():
            found = self.messages()
            return found[self.seen] if len(found) > self.seen else None

        message = eventually(find, f"a message to {self.number} in the phone outbox", OUTBOX_WAIT_SECS)
        self.seen += 1
        return message

    def next_code(self, channel: str, kind: str | None = None) -> str:
        message = self.next_message()
        assert message.get("channel") == channel, message
        if kind is not None:
            assert message.get("type") == kind, message
        assert message.get("signed", True), f"unsigned webhook call: {message}"
        match = (SPOKEN_CODE if channel == "voice" else CODE).search(message.get("text") or "")
        assert match, f"no 6-digit code in {message}"
        return re.sub(r"\D", "", match.group(1))


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
    return ManagementClient(
        domain=domain,
        client_id=_env("CALLSIGN_CLIENT_ID"),
        client_secret=_env("CALLSIGN_CLIENT_SECRET"),
    )


@pytest.fixture(scope="module")
def app(mgmt: ManagementClient):
    """A confidential application allowed password-realm, the three MFA grants and the
    passwordless grant."""
    created = mgmt.clients.create(
        name=f"compat-py-mfa-{uuid.uuid4().hex[:12]}",
        app_type="regular_web",
        grant_types=[PASSWORD_REALM, MFA_OOB, MFA_OTP, MFA_RECOVERY, PASSWORDLESS_OTP],
    )
    assert created.client_id and created.client_secret, created
    yield created
    quietly(mgmt.clients.delete, created.client_id)


@pytest.fixture(scope="module")
def get_token(domain: str, app) -> GetToken:
    return GetToken(domain, app.client_id, app.client_secret, timeout=AUTH_TIMEOUT)


@pytest.fixture(scope="module")
def guardian(mgmt: ManagementClient):
    """Turns on the sms (with voice), otp and recovery-code factors. Voice needs a tenant phone
    provider that can call: a `custom` one delivering to this process's webhook. Everything is
    switched back off afterwards."""
    global WEBHOOK
    WEBHOOK = Webhook()
    provider = mgmt.branding.phone.providers.create(
        name="custom",
        configuration={"delivery_methods": ["text", "voice"], "callsign_webhook_url": WEBHOOK.url},
        credentials={},
    )
    try:
        for factor in ("sms", "otp", "recovery-code"):
            assert mgmt.guardian.factors.set(factor, enabled=True).enabled is True
        types = mgmt.guardian.factors.phone.set_message_types(message_types=["sms", "voice"])
        assert sorted(types.message_types or []) == ["sms", "voice"], types
        yield
    finally:
        quietly(mgmt.guardian.policies.set, request=[])
        quietly(mgmt.guardian.factors.phone.set_message_types, message_types=["sms"])
        for factor in ("sms", "otp", "recovery-code"):
            quietly(mgmt.guardian.factors.set, factor, enabled=False)
        quietly(mgmt.branding.phone.providers.delete, provider.id)
        WEBHOOK.close()


@pytest.fixture
def mfa_policy(mgmt: ManagementClient, guardian):
    """MFA for every login, only while one test runs (the other suites log in without MFA)."""
    assert list(mgmt.guardian.policies.set(request=["all-applications"])) == ["all-applications"]
    try:
        yield
    finally:
        mgmt.guardian.policies.set(request=[])


@pytest.fixture
def user(mgmt: ManagementClient):
    """A fresh database user: (email, password, user_id)."""
    email, password = unique_email("user"), strong_password()
    created = mgmt.users.create(connection=CONNECTION, email=email, password=password)
    yield email, password, created.user_id
    quietly(mgmt.users.delete, created.user_id)


def mfa_required(get_token: GetToken, email: str, password: str) -> dict:
    """Logs in through the SDK and returns the `mfa_required` error body."""
    with pytest.raises(Auth0Error) as excinfo:
        get_token.login(username=email, password=password, realm=CONNECTION, scope="openid")
    err = excinfo.value
    assert (err.status_code, err.error_code) == (403, "mfa_required"), err
    assert err.message == "Multifactor authentication required", err
    body = err.content
    assert isinstance(body, dict) and isinstance(body.get("mfa_token"), str), body
    assert body["mfa_token"], body
    return body


def associate(get_token: GetToken, mfa_token: str, **fields) -> dict:
    # No SDK helper for /mfa/associate: the SDK's authenticated_post adds client_id/secret.
    return get_token.authenticated_post(
        f"https://{get_token.domain}/mfa/associate",
        data={"client_id": get_token.client_id, **fields},
        headers={"Authorization": f"Bearer {mfa_token}"},
    )


def challenge(get_token: GetToken, mfa_token: str, **fields) -> dict:
    # No SDK helper for /mfa/challenge (mfa_token in the body, client auth like /oauth/token).
    return get_token.authenticated_post(
        f"https://{get_token.domain}/mfa/challenge",
        data={"client_id": get_token.client_id, "mfa_token": mfa_token, **fields},
    )


def authenticators(get_token: GetToken, mfa_token: str) -> list[dict]:
    # No SDK helper for GET /mfa/authenticators.
    return get_token.get(
        f"https://{get_token.domain}/mfa/authenticators",
        headers={"Authorization": f"Bearer {mfa_token}"},
    )


def mfa_grant(get_token: GetToken, grant_type: str, mfa_token: str, **fields) -> dict:
    # No SDK helper for the MFA grants; same request shape as GetToken's own grant helpers.
    return get_token.authenticated_post(
        f"https://{get_token.domain}/oauth/token",
        data={"client_id": get_token.client_id, "grant_type": grant_type, "mfa_token": mfa_token, **fields},
    )


def grant_error(fn, *args, **kwargs) -> Auth0Error:
    with pytest.raises(Auth0Error) as excinfo:
        fn(*args, **kwargs)
    return excinfo.value


def assert_user_tokens(tokens: dict, user_id: str, client_id: str) -> None:
    assert tokens.get("token_type") == "Bearer", tokens
    assert tokens.get("access_token"), tokens
    assert jwt_payload(tokens["access_token"])["sub"] == user_id, tokens
    if "id_token" in tokens:
        claims = jwt_payload(tokens["id_token"])
        assert claims["sub"] == user_id and claims["aud"] in (client_id, [client_id]), claims


# --------------------------------------------------------------------------------------------
# Passwordless SMS (runs with the MFA policy off)


def test_passwordless_sms_start_and_login(mgmt: ManagementClient, domain: str, app, get_token, data_dir):
    connection = mgmt.connections.create(
        name=SMS_CONNECTION, strategy="sms", enabled_clients=[app.client_id]
    )
    user_id = None
    try:
        phone = Phone(data_dir, PHONE_PASSWORDLESS)
        passwordless = Passwordless(domain, app.client_id, app.client_secret, timeout=AUTH_TIMEOUT)
        started = passwordless.sms(phone_number=PHONE_PASSWORDLESS)
        assert started.get("phone_number") == PHONE_PASSWORDLESS, started
        assert isinstance(started.get("_id"), str) and started["_id"], started
        code = phone.next_code("sms")

        wrong = "000000" if code != "000000" else "111111"
        err = grant_error(
            get_token.passwordless_login,
            username=PHONE_PASSWORDLESS, otp=wrong, realm=SMS_CONNECTION, scope="openid", audience=None,
        )
        assert (err.status_code, err.error_code) == (403, "invalid_grant"), err
        assert err.message == "Wrong phone number or verification code.", err

        tokens = get_token.passwordless_login(
            username=PHONE_PASSWORDLESS, otp=code, realm=SMS_CONNECTION, scope="openid", audience=None
        )
        assert tokens.get("access_token") and tokens.get("id_token"), tokens
        claims = jwt_payload(tokens["id_token"])
        user_id = claims["sub"]
        assert user_id.startswith("sms|"), claims
        assert claims.get("phone_number") in (None, PHONE_PASSWORDLESS), claims

        user = mgmt.users.get(user_id)
        assert user.phone_number == PHONE_PASSWORDLESS and user.phone_verified is True, user
        assert [(i.connection, i.provider) for i in user.identities or []] == [("sms", "sms")], user

        # A code works once.
        again = grant_error(
            get_token.passwordless_login,
            username=PHONE_PASSWORDLESS, otp=code, realm=SMS_CONNECTION, scope="openid", audience=None,
        )
        assert (again.status_code, again.error_code) == (403, "invalid_grant"), again
    finally:
        if user_id:
            quietly(mgmt.users.delete, user_id)
        quietly(mgmt.connections.delete, connection.id)


# --------------------------------------------------------------------------------------------
# Phone MFA: enrol, challenge, recovery code


@pytest.mark.parametrize("channel,number", [("sms", PHONE_SMS), ("voice", PHONE_VOICE)])
def test_phone_mfa_enrol_challenge_and_recovery(
    mfa_policy, user, app, get_token: GetToken, data_dir: Path, channel: str, number: str
):
    email, password, user_id = user
    phone = Phone(data_dir, number)

    first = mfa_required(get_token, email, password)
    assert first.get("mfa_requirements") == {"enroll": [{"type": "phone"}, {"type": "otp"}]}, first
    mfa_token = first["mfa_token"]
    assert authenticators(get_token, mfa_token) == [], "nothing enrolled yet"

    enrolled = associate(
        get_token, mfa_token, authenticator_types=["oob"], oob_channels=[channel], phone_number=number
    )
    assert enrolled.get("authenticator_type") == "oob", enrolled
    assert enrolled.get("oob_channel") == channel, enrolled
    assert enrolled.get("binding_method") == "prompt", enrolled
    assert enrolled.get("oob_code"), enrolled
    recovery_codes = enrolled.get("recovery_codes")
    assert isinstance(recovery_codes, list) and len(recovery_codes) == 1, enrolled
    code = phone.next_code(channel, "otp_enroll")

    wrong = "000000" if code != "000000" else "111111"
    err = grant_error(mfa_grant, get_token, MFA_OOB, mfa_token, oob_code=enrolled["oob_code"], binding_code=wrong)
    assert (err.status_code, err.error_code) == (403, "invalid_grant"), err
    assert err.message == "Invalid binding_code.", err

    tokens = mfa_grant(get_token, MFA_OOB, mfa_token, oob_code=enrolled["oob_code"], binding_code=code)
    assert_user_tokens(tokens, user_id, app.client_id)

    # The next login asks for a challenge; the enrolled phone answers it.
    second = mfa_required(get_token, email, password)
    challenge_types = {c["type"] for c in second.get("mfa_requirements", {}).get("challenge", [])}
    assert "phone" in challenge_types, second
    mfa_token = second["mfa_token"]
    listed = authenticators(get_token, mfa_token)
    by_id = {a["id"]: a for a in listed}
    mine = [a for a in listed if a["id"].startswith(f"{channel}|dev_")]
    assert len(mine) == 1, listed
    assert mine[0].get("authenticator_type") == "oob" and mine[0].get("active") is True, listed
    assert mine[0].get("name", "").endswith(number[-4:]), listed
    assert number not in json.dumps(listed), "the number is masked"
    assert any(i.startswith("recovery-code|dev_") for i in by_id), listed

    sent = challenge(get_token, mfa_token, challenge_type="oob", authenticator_id=mine[0]["id"])
    assert sent.get("challenge_type") == "oob" and sent.get("binding_method") == "prompt", sent
    code = phone.next_code(channel, "otp_verify")
    tokens = mfa_grant(get_token, MFA_OOB, mfa_token, oob_code=sent["oob_code"], binding_code=code)
    assert_user_tokens(tokens, user_id, app.client_id)
    replay = grant_error(mfa_grant, get_token, MFA_OOB, mfa_token, oob_code=sent["oob_code"], binding_code=code)
    assert replay.status_code in (400, 401, 403), replay

    # Lost phone: the recovery code logs in once and is replaced by a new one.
    third = mfa_required(get_token, email, password)
    recovered = mfa_grant(get_token, MFA_RECOVERY, third["mfa_token"], recovery_code=recovery_codes[0])
    assert_user_tokens(recovered, user_id, app.client_id)
    new_code = recovered.get("recovery_code")
    assert isinstance(new_code, str) and new_code and new_code != recovery_codes[0], recovered

    fourth = mfa_required(get_token, email, password)
    used = grant_error(mfa_grant, get_token, MFA_RECOVERY, fourth["mfa_token"], recovery_code=recovery_codes[0])
    assert (used.status_code, used.error_code) == (403, "invalid_grant"), used
    assert mfa_grant(get_token, MFA_RECOVERY, fourth["mfa_token"], recovery_code=new_code).get("access_token")


# --------------------------------------------------------------------------------------------
# TOTP


def test_totp_enrol_and_login(mfa_policy, user, app, get_token: GetToken):
    email, password, user_id = user
    mfa_token = mfa_required(get_token, email, password)["mfa_token"]

    enrolled = associate(get_token, mfa_token, authenticator_types=["otp"])
    assert enrolled.get("authenticator_type") == "otp", enrolled
    secret = enrolled.get("secret")
    assert isinstance(secret, str) and secret, enrolled
    uri = urlparse(enrolled.get("barcode_uri", ""))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp"), enrolled
    assert parse_qs(uri.query).get("secret") == [secret], enrolled

    err = grant_error(mfa_grant, get_token, MFA_OTP, mfa_token, otp=totp(secret, time.time() - 3600))
    assert (err.status_code, err.error_code) == (403, "invalid_grant"), err
    assert err.message == "Invalid otp_code.", err

    tokens = mfa_grant(get_token, MFA_OTP, mfa_token, otp=totp(secret))
    assert_user_tokens(tokens, user_id, app.client_id)

    again = mfa_required(get_token, email, password)
    listed = authenticators(get_token, again["mfa_token"])
    otp = [a for a in listed if a.get("authenticator_type") == "otp"]
    assert len(otp) == 1 and otp[0]["id"].startswith("totp|dev_") and otp[0].get("active") is True, listed
