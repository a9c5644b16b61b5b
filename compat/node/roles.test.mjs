// Compatibility tests: roles and permissions (Auth0 RBAC) through the official node SDKs
// against a running callsign.
//
//   * auth0 (node-auth0 v5) ManagementClient: roles.create / get / update / list (nameFilter) /
//     delete, roles.permissions.add / list / delete, roles.users.assign / list,
//     users.roles.assign / list / delete, users.permissions.create / list / delete, on an API
//     (resourceServers.create) with RBAC on, in each access-token dialect.
//   * @auth0/auth0-auth-js AuthClient.getTokenByPassword with that audience: the access token
//     carries only the scopes the user holds, `permissions` in the `_authz` dialects, the
//     RFC 9068 shape (`typ: at+jwt`, `client_id`) in the `rfc9068_profile*` ones; a user who
//     loses the role loses the permission on the next token.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { AuthClient } from "@auth0/auth0-auth-js";
import { ManagementClient } from "auth0";

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run these tests through scripts/compat`);
  return value;
}

const domain = env("CALLSIGN_DOMAIN");
const CONNECTION = "Username-Password-Authentication";
const PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm";
const tag = randomUUID().slice(0, 8);
const AUDIENCE = `https://orders-node-${tag}.example/`;

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
const jwtPart = (t, i) => JSON.parse(Buffer.from(t.split(".")[i], "base64url").toString("utf8"));
const perm = (name) => ({ resource_server_identifier: AUDIENCE, permission_name: name });

describe("roles and permissions (RBAC)", () => {
  let api;
  let app;
  let role;
  let userId;
  const email = `compat-node-roles-${tag}@example.com`;
  const password = `Zq7!${randomUUID().slice(0, 10)}-Wx`;

  before(async () => {
    api = await management.resourceServers.create({
      identifier: AUDIENCE,
      name: `Orders ${tag}`,
      enforce_policies: true,
      token_dialect: "access_token_authz",
      scopes: [{ value: "read:orders", description: "Read orders" }, { value: "write:orders" }],
    });
    app = await management.clients.create({
      name: `compat-node-roles-${tag}`,
      app_type: "regular_web",
      grant_types: ["password", PASSWORD_REALM],
    });
    userId = (await management.users.create({ connection: CONNECTION, email, password })).user_id;
  });

  after(async () => {
    if (role) await quietly(() => management.roles.delete(role.id));
    if (userId) await quietly(() => management.users.delete(userId));
    if (app) await quietly(() => management.clients.delete(app.client_id));
    if (api) await quietly(() => management.resourceServers.delete(api.id));
  });

  it("runs the role lifecycle", async () => {
    role = await management.roles.create({ name: `clerk-node-${tag}`, description: "Reads orders" });
    assert.match(role.id, /^rol_/);
    assert.equal((await management.roles.get(role.id)).name, `clerk-node-${tag}`);
    const updated = await management.roles.update(role.id, { description: "Reads the orders" });
    assert.equal(updated.description, "Reads the orders");
    const found = await management.roles.list({ name_filter: `CLERK-NODE-${tag}` });
    assert.deepEqual(found.data.map((r) => r.id), [role.id]);
    await assert.rejects(
      management.roles.create({ name: `clerk-node-${tag}` }),
      (e) => e.statusCode === 409,
    );

    await management.roles.permissions.add(role.id, { permissions: [perm("read:orders")] });
    const perms = await management.roles.permissions.list(role.id);
    assert.deepEqual(
      perms.data.map((p) => [p.permission_name, p.resource_server_name, p.description]),
      [["read:orders", `Orders ${tag}`, "Read orders"]],
    );
    await assert.rejects(
      management.roles.permissions.add(role.id, { permissions: [perm("write:orders"), perm("fly")] }),
      (e) => e.statusCode === 400,
    );
    assert.equal((await management.roles.permissions.list(role.id)).data.length, 1, "nothing half-added");

    await management.roles.users.assign(role.id, { users: [userId] });
    const members = await management.roles.users.list(role.id);
    assert.deepEqual(members.data.map((u) => u.user_id), [userId]);
    await assert.rejects(
      management.users.roles.assign(userId, { roles: [role.id, "rol_doesnotexist00"] }),
      (e) => e.statusCode === 404,
    );
    const roles = await management.users.roles.list(userId);
    assert.deepEqual(roles.data.map((r) => r.name), [`clerk-node-${tag}`]);
  });

  it("puts the user's permissions in access tokens, per dialect", async () => {
    const authJs = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
    const login = async () => {
      const t = await authJs.getTokenByPassword({
        username: email,
        password,
        realm: CONNECTION,
        audience: AUDIENCE,
        scope: "read:orders write:orders",
      });
      return [jwtPart(t.accessToken, 0), jwtPart(t.accessToken, 1)];
    };
    let [header, claims] = await login();
    assert.equal(header.typ, "JWT");
    assert.equal(claims.scope, "read:orders");
    assert.deepEqual(claims.permissions, ["read:orders"]);

    await management.users.permissions.create(userId, { permissions: [perm("write:orders")] });
    const held = await management.users.permissions.list(userId);
    assert.deepEqual(held.data.map((p) => p.permission_name).sort(), ["read:orders", "write:orders"]);
    [, claims] = await login();
    assert.equal(claims.scope, "read:orders write:orders");

    await management.users.roles.delete(userId, { roles: [role.id] });
    [, claims] = await login();
    assert.equal(claims.scope, "write:orders", "the role's permission is gone from the next token");
    assert.deepEqual(claims.permissions, ["write:orders"]);

    for (const [dialect, typ, hasPermissions] of [
      ["access_token", "JWT", false],
      ["rfc9068_profile", "at+jwt", false],
      ["rfc9068_profile_authz", "at+jwt", true],
    ]) {
      await management.resourceServers.update(api.id, { token_dialect: dialect });
      [header, claims] = await login();
      assert.equal(header.typ, typ, dialect);
      assert.equal("permissions" in claims, hasPermissions, dialect);
      if (typ === "at+jwt") assert.equal(claims.client_id, app.client_id);
    }

    await management.users.permissions.delete(userId, { permissions: [perm("write:orders")] });
    assert.equal((await management.users.permissions.list(userId)).data.length, 0);
    await management.roles.permissions.delete(role.id, { permissions: [perm("read:orders")] });
    assert.equal((await management.roles.permissions.list(role.id)).data.length, 0);
  });
});
