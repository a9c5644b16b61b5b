"""Compatibility tests: Auth0 Actions through the official auth0-python SDK (v5) against a
running callsign server.

The Management client's `actions` (create, get, list with filters, deploy, versions, delete
with force, triggers and their bindings) sets up the domain example: a post-login Action that
asks for MFA only for users whose email is in the domain its secret names, with the tenant MFA
policy off. `GetToken.login` (password-realm) then gets `mfa_required` for a user in the domain
and tokens, carrying the Action's claim, for anyone else.

Tenant-wide settings (the otp factor, the post-login bindings) are put back afterwards, so the
other suites log users in without MFA and without Actions.
"""

from __future__ import annotations

import base64
import json
import os
import uuid

import pytest

from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import ManagementClient
from auth0.management.core.api_error import ApiError

CONNECTION = "Username-Password-Authentication"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
CODE = """
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("https://callsign.test/domain", event.secrets.MFA_DOMAIN);
  if (event.user.email && event.user.email.endsWith("@" + event.secrets.MFA_DOMAIN)) {
    api.multifactor.enable("any", { allowRememberBrowser: false });
  }
};"""


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


def test_post_login_action_decides_mfa_by_email_domain(mgmt: ManagementClient, domain: str):
    mfa_domain = f"corp-{uuid.uuid4().hex[:8]}.example"
    password = f"Zq7!{uuid.uuid4().hex[:10]}-Wx"
    inside = f"compat-py-actions-{uuid.uuid4().hex[:8]}@{mfa_domain}"
    outside = f"compat-py-actions-{uuid.uuid4().hex[:8]}@elsewhere.example"
    app = mgmt.clients.create(
        name=f"compat-py-actions-{uuid.uuid4().hex[:12]}",
        app_type="regular_web",
        grant_types=["password", PASSWORD_REALM],
    )
    user_ids = []
    action = None
    try:
        for email in (inside, outside):
            user_ids.append(mgmt.users.create(connection=CONNECTION, email=email, password=password).user_id)
        assert mgmt.guardian.factors.set("otp", enabled=True).enabled is True
        assert list(mgmt.guardian.policies.set(request=[])) == []

        assert any(t.id == "post-login" for t in mgmt.actions.triggers.list().triggers)
        action = mgmt.actions.create(
            name=f"compat-py-domain-mfa-{uuid.uuid4().hex[:8]}",
            supported_triggers=[{"id": "post-login", "version": "v3"}],
            code=CODE,
            secrets=[{"name": "MFA_DOMAIN", "value": mfa_domain}],
        )
        assert [s.name for s in action.secrets] == ["MFA_DOMAIN"]
        version = mgmt.actions.deploy(action.id)
        assert (version.number, version.deployed) == (1, True)
        assert mgmt.actions.get(action.id).deployed_version.number == 1
        listed = list(mgmt.actions.list(trigger_id="post-login", action_name=action.name, deployed=True))
        assert [a.id for a in listed] == [action.id]
        assert len(list(mgmt.actions.versions.list(action.id))) == 1
        bound = mgmt.actions.triggers.bindings.update_many(
            "post-login", bindings=[{"ref": {"type": "action_name", "value": action.name}}]
        )
        assert [b.action.id for b in bound.bindings] == [action.id]

        get_token = GetToken(domain, app.client_id, app.client_secret, timeout=30.0)
        with pytest.raises(Auth0Error) as excinfo:
            get_token.login(username=inside, password=password, realm=CONNECTION, scope="openid")
        assert (excinfo.value.status_code, excinfo.value.error_code) == (403, "mfa_required")
        assert excinfo.value.content["mfa_token"]
        tokens = get_token.login(username=outside, password=password, realm=CONNECTION, scope="openid")
        assert jwt_payload(tokens["id_token"])["https://callsign.test/domain"] == mfa_domain
    finally:
        quietly(mgmt.actions.triggers.bindings.update_many, "post-login", bindings=[])
        if action is not None:
            quietly(mgmt.actions.delete, action.id, force=True)
        quietly(mgmt.guardian.factors.set, "otp", enabled=False)
        for uid in user_ids:
            quietly(mgmt.users.delete, uid)
        quietly(mgmt.clients.delete, app.client_id)
