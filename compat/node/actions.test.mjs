// Compatibility tests: Auth0 Actions through the official node SDKs against a running callsign.
//
//   * auth0 (node-auth0 v5) ManagementClient: actions.create / get / list (triggerId filter) /
//     update / deploy / test / delete (force), actions.versions.list, actions.triggers.list,
//     actions.triggers.bindings.list / updateMany.
//   * @auth0/auth0-auth-js AuthClient.getTokenByPassword: the login the bound post-login Action
//     decides (the domain example: MFA only for users whose email is in the domain named by
//     the Action's secret, with the tenant MFA policy off), and the claims it adds.
//
// Tenant-wide settings (the otp factor, the post-login bindings) are put back in `after`, so
// the other suites log users in without MFA and without Actions.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { AuthClient, isMfaRequiredError } from "@auth0/auth0-auth-js";
import { ManagementClient } from "auth0";

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run these tests through scripts/compat`);
  return value;
}

const domain = env("CALLSIGN_DOMAIN");
const CONNECTION = "Username-Password-Authentication";
const PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm";
const MFA_DOMAIN = `corp-${randomUUID().slice(0, 8)}.example`;
const CODE = `
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("https://callsign.test/domain", event.secrets.MFA_DOMAIN);
  if (event.user.email && event.user.email.endsWith("@" + event.secrets.MFA_DOMAIN)) {
    api.multifactor.enable("any", { allowRememberBrowser: false });
  }
};`;

const management = new ManagementClient({
  domain,
  clientId: env("CALLSIGN_CLIENT_ID"),
  clientSecret: env("CALLSIGN_CLIENT_SECRET"),
});

const quietly = async (fn) => {
  try {
    await fn();
  } catch {
    /* best-effort clean-up */
  }
};
const jwtPayload = (t) => JSON.parse(Buffer.from(t.split(".")[1], "base64url").toString("utf8"));

describe("Actions: post-login decides MFA by email domain", () => {
  let app;
  let action;
  const userIds = [];
  const password = `Zq7!${randomUUID().slice(0, 10)}-Wx`;
  const inDomain = `compat-node-actions-${randomUUID().slice(0, 8)}@${MFA_DOMAIN}`;
  const outside = `compat-node-actions-${randomUUID().slice(0, 8)}@elsewhere.example`;

  before(async () => {
    app = await management.clients.create({
      name: `compat-node-actions-${randomUUID().slice(0, 12)}`,
      app_type: "regular_web",
      grant_types: ["password", PASSWORD_REALM],
    });
    for (const email of [inDomain, outside]) {
      const u = await management.users.create({ connection: CONNECTION, email, password });
      userIds.push(u.user_id);
    }
    await management.guardian.factors.set("otp", { enabled: true });
    assert.deepEqual(await management.guardian.policies.set([]), []);
  });

  after(async () => {
    await quietly(() => management.actions.triggers.bindings.updateMany("post-login", { bindings: [] }));
    if (action) await quietly(() => management.actions.delete(action.id, { force: true }));
    await quietly(() => management.guardian.factors.set("otp", { enabled: false }));
    for (const id of userIds) await quietly(() => management.users.delete(id));
    if (app) await quietly(() => management.clients.delete(app.client_id));
  });

  it("creates, deploys, lists, tests and binds the action", async () => {
    const triggers = await management.actions.triggers.list();
    assert.ok(triggers.triggers.some((t) => t.id === "post-login" && t.version === "v3"));

    action = await management.actions.create({
      name: `compat-node-domain-mfa-${randomUUID().slice(0, 8)}`,
      supported_triggers: [{ id: "post-login", version: "v3" }],
      code: CODE,
      runtime: "node22",
      secrets: [{ name: "MFA_DOMAIN", value: MFA_DOMAIN }],
    });
    assert.ok(action.id);
    assert.deepEqual(action.secrets.map((s) => s.name), ["MFA_DOMAIN"]);
    assert.equal(action.secrets[0].value, undefined, "secret values are never returned");

    const version = await management.actions.deploy(action.id);
    assert.equal(version.number, 1);
    assert.equal(version.deployed, true);
    const got = await management.actions.get(action.id);
    assert.equal(got.deployed_version.number, 1);
    assert.equal(got.all_changes_deployed, true);

    const page = await management.actions.list({ triggerId: "post-login", actionName: action.name });
    assert.deepEqual(page.data.map((a) => a.id), [action.id]);
    const versions = await management.actions.versions.list(action.id);
    assert.equal(versions.data.length, 1);

    const run = await management.actions.test(action.id, {
      payload: { user: { email: `x@${MFA_DOMAIN}` } },
    });
    assert.deepEqual(
      run.payload.commands.map((c) => c.name),
      ["idToken.setCustomClaim", "multifactor.enable"],
    );

    const bound = await management.actions.triggers.bindings.updateMany("post-login", {
      bindings: [{ ref: { type: "action_id", value: action.id }, display_name: "MFA by domain" }],
    });
    assert.equal(bound.bindings.length, 1);
    const listed = await management.actions.triggers.bindings.list("post-login");
    assert.equal(listed.data[0].display_name, "MFA by domain");
    assert.equal(listed.data[0].action.id, action.id);
  });

  it("asks users in the domain for MFA and lets the others in with the Action's claim", async () => {
    const authJs = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
    let err;
    try {
      await authJs.getTokenByPassword({ username: inDomain, password, realm: CONNECTION, scope: "openid" });
    } catch (e) {
      err = e;
    }
    assert.ok(err && isMfaRequiredError(err), `expected mfa_required, got ${err}`);
    assert.ok(err.cause.mfa_token);

    const tokens = await authJs.getTokenByPassword({
      username: outside,
      password,
      realm: CONNECTION,
      scope: "openid",
    });
    assert.equal(jwtPayload(tokens.idToken)["https://callsign.test/domain"], MFA_DOMAIN);
  });

  it("refuses code that does not compile, with its position", async () => {
    await assert.rejects(
      management.actions.update(action.id, { code: "exports.onExecutePostLogin = async () => {" }),
      (e) => e.statusCode === 400 && /does not compile/.test(JSON.stringify(e.body)),
    );
  });
});
