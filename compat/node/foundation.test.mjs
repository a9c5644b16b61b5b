// Compatibility tests: the official node-auth0 SDK (v5) against a running callsign server.
//
// scripts/test starts the server and exports CALLSIGN_DOMAIN (host:port), CALLSIGN_CLIENT_ID,
// CALLSIGN_CLIENT_SECRET, and NODE_EXTRA_CA_CERTS (the server's self-signed certificate).
// The ManagementClient fetches its own Management API token with client_credentials, exactly
// as it does against Auth0.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { AuthApiError, AuthenticationClient, ManagementClient, ManagementError } from "auth0";

function env(name) {
  const value = process.env[name];
  if (!value) {
    // Fail, never skip: a skipped compat suite would look green in CI.
    throw new Error(`${name} is not set; run these tests through scripts/test`);
  }
  return value;
}

const domain = env("CALLSIGN_DOMAIN");
const clientId = env("CALLSIGN_CLIENT_ID");
const clientSecret = env("CALLSIGN_CLIENT_SECRET");
const managementAudience = `https://${domain}/api/v2/`;

const unique = (prefix) => `${prefix}-${randomUUID().slice(0, 12)}`;

function jwtPayload(token) {
  const parts = token.split(".");
  assert.equal(parts.length, 3, `not a compact JWS: ${token.slice(0, 40)}...`);
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

const audiences = (claims) => (Array.isArray(claims.aud) ? claims.aud : [claims.aud]);

/** Runs fn and returns the ManagementError it must throw. */
async function managementError(fn) {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ManagementError, `expected a ManagementError, got ${err}`);
    return err;
  }
  assert.fail("expected the call to fail");
}

/** Best-effort cleanup; never masks the original failure. */
async function quietly(fn) {
  try {
    await fn();
  } catch {
    // already gone, or the test failed earlier
  }
}

const management = new ManagementClient({ domain, clientId, clientSecret });

describe("Authentication API /oauth/token", () => {
  it("issues a Management API token with client_credentials", async () => {
    const auth = new AuthenticationClient({ domain, clientId, clientSecret });
    const { data } = await auth.oauth.clientCredentialsGrant({ audience: managementAudience });
    assert.equal(typeof data.access_token, "string");
    assert.equal(data.token_type, "Bearer");
    assert.equal(typeof data.expires_in, "number");
    assert.ok(data.expires_in > 0);
    const claims = jwtPayload(data.access_token);
    assert.equal(claims.iss, `https://${domain}/`);
    assert.ok(audiences(claims).includes(managementAudience), JSON.stringify(claims));
    assert.equal(claims.sub, `${clientId}@clients`);
    assert.equal(claims.gty, "client-credentials");
    assert.match(claims.scope, /(^| )read:clients( |$)/);
  });

  it("rejects a wrong client secret with 401 access_denied", async () => {
    const auth = new AuthenticationClient({ domain, clientId, clientSecret: "not-the-secret" });
    await assert.rejects(auth.oauth.clientCredentialsGrant({ audience: managementAudience }), (err) => {
      assert.ok(err instanceof AuthApiError, `expected AuthApiError, got ${err}`);
      assert.equal(err.statusCode, 401);
      assert.equal(err.error, "access_denied");
      return true;
    });
  });
});

describe("Management API: clients", () => {
  const created = [];

  before(async () => {
    for (let i = 0; i < 3; i++) {
      const name = unique(`compat-node-client-${i}`);
      const client = await management.clients.create({
        name,
        app_type: "non_interactive",
        grant_types: ["client_credentials"],
      });
      assert.ok(client.client_id, JSON.stringify(client));
      assert.ok(client.client_secret, "create must return the generated client_secret");
      assert.equal(client.name, name);
      assert.equal(client.app_type, "non_interactive");
      assert.deepEqual(client.grant_types, ["client_credentials"]);
      created.push(client);
    }
  });

  after(async () => {
    for (const c of created) await quietly(() => management.clients.delete(c.client_id));
  });

  it("gets and updates a client", async () => {
    const [first] = created;
    const got = await management.clients.get(first.client_id);
    assert.equal(got.client_id, first.client_id);
    assert.equal(got.name, first.name);
    assert.deepEqual(got.grant_types, ["client_credentials"]);

    const renamed = `${first.name}-renamed`;
    const updated = await management.clients.update(first.client_id, { name: renamed });
    assert.equal(updated.client_id, first.client_id);
    assert.equal(updated.name, renamed);
    assert.equal(updated.app_type, "non_interactive");
    assert.deepEqual(updated.grant_types, ["client_credentials"]);
    assert.equal((await management.clients.get(first.client_id)).name, renamed);
  });

  it("pages through clients with per_page=2 (offset pagination, include_totals)", async () => {
    const wanted = new Set(created.map((c) => c.client_id));

    // Page by page, checking the {start, limit, total, clients} envelope.
    let page = await management.clients.list({ per_page: 2 });
    const total = page.response.total;
    assert.equal(typeof total, "number", JSON.stringify(page.response));
    assert.ok(total >= 4, `total ${total}: bootstrap client + 3 created`);
    const seen = [];
    let pages = 0;
    for (;;) {
      pages += 1;
      assert.ok(Array.isArray(page.response.clients), JSON.stringify(page.response));
      assert.ok(page.data.length <= 2, `page ${pages} has ${page.data.length} items`);
      if (page.data.length > 0) {
        assert.equal(page.response.start, (pages - 1) * 2, JSON.stringify(page.response));
        assert.equal(page.response.limit, 2, JSON.stringify(page.response));
      }
      seen.push(...page.data.map((c) => c.client_id));
      if (!page.hasNextPage()) break;
      assert.ok(pages < 100, "runaway pagination");
      page = await page.getNextPage();
    }
    assert.equal(new Set(seen).size, seen.length, `duplicates while paging: ${seen}`);
    assert.equal(seen.length, total);
    for (const id of wanted) assert.ok(seen.includes(id), `client ${id} not seen while paging`);

    // The SDK's auto-pagination (async iterator) sees the same set.
    const iterated = [];
    for await (const c of await management.clients.list({ per_page: 2 })) iterated.push(c.client_id);
    assert.deepEqual([...iterated].sort(), [...seen].sort());
  });

  it("rotates a client secret", async () => {
    const target = created[2];
    const rotated = await management.clients.rotateSecret(target.client_id);
    assert.equal(rotated.client_id, target.client_id);
    assert.ok(rotated.client_secret);
    assert.notEqual(rotated.client_secret, target.client_secret);
  });

  it("deletes clients; a deleted client is a 404", async () => {
    for (const c of created.splice(0)) {
      await management.clients.delete(c.client_id);
      const err = await managementError(() => management.clients.get(c.client_id));
      assert.equal(err.statusCode, 404);
      assert.equal(err.body?.statusCode, 404, JSON.stringify(err.body));
      assert.equal(err.body?.error, "Not Found", JSON.stringify(err.body));
    }
  });
});

describe("Management API: resource servers and client grants", () => {
  const apps = [];
  const apis = [];
  const grants = [];

  before(async () => {
    for (let i = 0; i < 3; i++) {
      apps.push(
        await management.clients.create({
          name: unique(`compat-node-m2m-${i}`),
          app_type: "non_interactive",
          grant_types: ["client_credentials"],
        }),
      );
    }
  });

  after(async () => {
    for (const g of grants) await quietly(() => management.clientGrants.delete(g.id));
    for (const r of apis) await quietly(() => management.resourceServers.delete(r.id));
    for (const a of apps) await quietly(() => management.clients.delete(a.client_id));
  });

  it("creates, gets, updates and lists resource servers (per_page=1)", async () => {
    for (let i = 0; i < 2; i++) {
      const identifier = `https://api.example.test/${randomUUID()}`;
      const rs = await management.resourceServers.create({
        identifier,
        name: unique(`compat-node-api-${i}`),
        scopes: [
          { value: "read:things", description: "Read things" },
          { value: "write:things", description: "Write things" },
        ],
      });
      assert.ok(rs.id, JSON.stringify(rs));
      assert.equal(rs.identifier, identifier);
      assert.deepEqual(
        rs.scopes.map((s) => s.value),
        ["read:things", "write:things"],
      );
      apis.push(rs);
    }

    const got = await management.resourceServers.get(apis[0].id);
    assert.equal(got.identifier, apis[0].identifier);
    // `{id}` also accepts the identifier (the SDK URL-encodes it into one path segment)
    const byIdentifier = await management.resourceServers.get(apis[0].identifier);
    assert.equal(byIdentifier.id, apis[0].id);

    const renamed = `${apis[1].name}-renamed`;
    const updated = await management.resourceServers.update(apis[1].id, { name: renamed });
    assert.equal(updated.name, renamed);
    assert.equal(updated.identifier, apis[1].identifier);
    apis[1] = updated;

    const page = await management.resourceServers.list({ per_page: 1 });
    assert.ok(page.data.length <= 1);
    assert.equal(typeof page.response.total, "number", JSON.stringify(page.response));
    const identifiers = [];
    for await (const rs of page) identifiers.push(rs.identifier);
    assert.equal(new Set(identifiers).size, identifiers.length, `duplicates: ${identifiers}`);
    for (const rs of apis) assert.ok(identifiers.includes(rs.identifier), `${rs.identifier} not listed`);

    const filtered = await management.resourceServers.list({ identifiers: apis.map((r) => r.identifier) });
    assert.deepEqual(filtered.data.map((r) => r.id).sort(), apis.map((r) => r.id).sort());
  });

  it("creates client grants and pages through them with checkpoint pagination (take=1)", async () => {
    const [api] = apis;
    assert.ok(api, "needs the resource servers from the previous test");
    for (const app of apps) {
      const grant = await management.clientGrants.create({
        client_id: app.client_id,
        audience: api.identifier,
        scope: ["read:things"],
      });
      assert.ok(grant.id, JSON.stringify(grant));
      assert.equal(grant.client_id, app.client_id);
      assert.equal(grant.audience, api.identifier);
      assert.deepEqual(grant.scope, ["read:things"]);
      grants.push(grant);
    }

    // Manual checkpoint paging: follow `next` (opaque string) until it is absent.
    let page = await management.clientGrants.list({ audience: api.identifier, take: 1 });
    const seen = [];
    let pages = 0;
    for (;;) {
      pages += 1;
      assert.ok(Array.isArray(page.response.client_grants), JSON.stringify(page.response));
      assert.ok(page.data.length <= 1, `page ${pages} has ${page.data.length} grants`);
      if (page.response.next != null) assert.equal(typeof page.response.next, "string");
      seen.push(...page.data.map((g) => g.id));
      if (!page.hasNextPage()) break;
      assert.ok(pages < 100, "runaway pagination");
      page = await page.getNextPage();
    }
    assert.deepEqual([...seen].sort(), grants.map((g) => g.id).sort());

    // Auto-pagination over all grants of the tenant (bootstrap grant included).
    const all = [];
    for await (const g of await management.clientGrants.list({ take: 1 })) all.push(g.id);
    assert.equal(new Set(all).size, all.length, `duplicates: ${all}`);
    for (const g of grants) assert.ok(all.includes(g.id), `grant ${g.id} not listed`);
    assert.ok(all.length > grants.length, "the bootstrap client's Management API grant is listed too");

    const byClient = await management.clientGrants.list({ client_id: apps[0].client_id });
    assert.deepEqual(
      byClient.data.map((g) => g.id),
      [grants[0].id],
    );
  });

  it("updates a client grant and the new scope reaches the access token", async () => {
    const [api] = apis;
    const updated = await management.clientGrants.update(grants[0].id, {
      scope: ["read:things", "write:things"],
    });
    assert.equal(updated.id, grants[0].id);
    assert.deepEqual(updated.scope, ["read:things", "write:things"]);

    const auth = new AuthenticationClient({
      domain,
      clientId: apps[0].client_id,
      clientSecret: apps[0].client_secret,
    });
    const { data } = await auth.oauth.clientCredentialsGrant({ audience: api.identifier });
    const claims = jwtPayload(data.access_token);
    assert.ok(audiences(claims).includes(api.identifier), JSON.stringify(claims));
    assert.deepEqual(claims.scope.split(" ").sort(), ["read:things", "write:things"]);
    assert.equal(claims.gty, "client-credentials");
    assert.equal(claims.sub, `${apps[0].client_id}@clients`);
  });

  it("deletes client grants and resource servers", async () => {
    const [api] = apis;
    for (const g of grants.splice(0)) await management.clientGrants.delete(g.id);
    const remaining = await management.clientGrants.list({ audience: api.identifier });
    assert.deepEqual(remaining.data, []);
    assert.equal(remaining.hasNextPage(), false);

    for (const rs of apis.splice(0)) {
      await management.resourceServers.delete(rs.id);
      const err = await managementError(() => management.resourceServers.get(rs.id));
      assert.equal(err.statusCode, 404);
    }
  });
});

describe("Management API: tenant settings", () => {
  it("gets and patches friendly_name", async () => {
    const before = await management.tenants.settings.get();
    assert.equal(typeof before, "object");
    const name = unique("Callsign compat node");
    try {
      const updated = await management.tenants.settings.update({ friendly_name: name });
      assert.equal(updated.friendly_name, name);
      const after = await management.tenants.settings.get();
      assert.equal(after.friendly_name, name);
      assert.deepEqual(after.enabled_locales, before.enabled_locales);
      assert.equal(after.support_email, before.support_email);
    } finally {
      if (typeof before.friendly_name === "string") {
        await management.tenants.settings.update({ friendly_name: before.friendly_name });
      }
    }
  });
});
