"""Compatibility tests: a custom-database connection through the official auth0-python SDK
(v5) against a running callsign server.

The Management client's `connections.create` saves Auth0's HTTP-API login template (run
unchanged in the sandbox) with a `configuration` that GET shows sealed, never in clear, and
callsign's `callsign_store_phone` extension; `GetToken.login` (password-realm) then logs the
store's user in (every login asks the store: not migrating), a wrong password is refused as a
native one is, and the user's MFA phone, from the store, is listed by
`users.authentication_methods`.

The legacy store is a small HTTP API served by this test on 127.0.0.1 (scripts/compat allows
it for the sandbox with CALLSIGN_SANDBOX_ALLOW_HOSTS).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import ManagementClient
from auth0.management.core.api_error import ApiError

PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
LOGIN = """function login(email, password, callback) {
  const request = require('request');
  request.post({ url: configuration.API + '/login', json: { email: email, password: password } },
    function (err, response, body) {
      if (err) return callback(err);
      if (response.statusCode === 401) return callback(new WrongUsernameOrPasswordError(email));
      if (response.statusCode !== 200) return callback(new Error('store answered ' + response.statusCode));
      callback(null, { user_id: body.id, email: body.email, name: body.name, phone_number: body.phone });
    });
}"""


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set; run these tests through scripts/compat", pytrace=False)
    return value


def jwt_payload(token: str) -> dict:
    part = token.split(".")[1]
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


def serve_store(email: str, password: str, store_id: str):
    """The legacy store: POST /login answers the one user; counts the calls."""
    calls = {"login": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the stdlib's name)
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            calls["login"] += 1
            if body.get("email") == email and body.get("password") == password:
                out = {"id": store_id, "email": email, "name": "Legacy Py", "phone": "+14155550188"}
                status = 200
            else:
                out, status = {}, 401
            data = json.dumps(out).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls


def test_custom_database_logins_with_the_stores_phone(mgmt: ManagementClient, domain: str):
    tag = uuid.uuid4().hex[:8]
    email = f"legacy-py-{tag}@example.com"
    password = f"Zq7!{uuid.uuid4().hex[:10]}-Wx"
    store_id = f"py{tag}"
    server, calls = serve_store(email, password, store_id)
    api = f"http://127.0.0.1:{server.server_address[1]}"
    app = mgmt.clients.create(
        name=f"compat-py-customdb-{tag}", app_type="regular_web", grant_types=["password", PASSWORD_REALM]
    )
    conn = mgmt.connections.create(
        name=f"legacy-py-{tag}",
        strategy="auth0",
        enabled_clients=[app.client_id],
        options={
            "enabledDatabaseCustomization": True,
            "import_mode": False,
            "customScripts": {"login": LOGIN},
            "configuration": {"API": api},
            "callsign_store_phone": {"mode": "trust"},
        },
    )
    try:
        shown = mgmt.connections.get(conn.id).model_dump(mode="json")
        sealed = shown["options"]["configuration"]["API"]
        assert sealed.startswith("callsign-sealed:") and api not in json.dumps(shown)

        get_token = GetToken(domain, app.client_id, app.client_secret, timeout=30.0)
        tokens = get_token.login(username=email, password=password, realm=conn.name, scope="openid")
        assert jwt_payload(tokens["id_token"])["sub"] == f"auth0|{store_id}"
        with pytest.raises(Auth0Error) as excinfo:
            get_token.login(username=email, password="wrong", realm=conn.name, scope="openid")
        assert (excinfo.value.status_code, excinfo.value.error_code) == (403, "invalid_grant")
        assert calls["login"] == 2, "every login asked the store"

        methods = list(mgmt.users.authentication_methods.list(f"auth0|{store_id}"))
        phones = [m for m in methods if m.type == "phone"]
        assert len(phones) == 1 and phones[0].phone_number.endswith("0188")
    finally:
        quietly(mgmt.connections.delete, conn.id)
        quietly(mgmt.clients.delete, app.client_id)
        server.shutdown()
