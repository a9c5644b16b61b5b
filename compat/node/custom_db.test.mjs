// Compatibility tests: custom-database connections through the official node SDKs against a
// running callsign.
//
//   * auth0 (node-auth0 v5) ManagementClient: connections.create / get / update with
//     `options.enabledDatabaseCustomization`, `customScripts` (Auth0's HTTP-API template, run
//     unchanged), `configuration` (shown sealed, never in clear) and callsign's
//     `callsign_store_phone` extension; a script that does not compile is refused with its line.
//   * @auth0/auth0-auth-js AuthClient.getTokenByPassword on that connection (the realm): the
//     store answers every login of a non-migrating user, whose SMS MFA phone comes from it;
//     in `confirm` mode the MFA API (listAuthenticators, challengeAuthenticator, verify)
//     confirms that phone with its first code; a migrating connection asks the store once.
//
// The legacy store is a small HTTP API this test serves on 127.0.0.1 (scripts/compat allows it
// for the sandbox with CALLSIGN_SANDBOX_ALLOW_HOSTS).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

import { AuthClient, isMfaRequiredError } from "@auth0/auth0-auth-js";
import { ManagementClient } from "auth0";

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run these tests through scripts/compat`);
  return value;
}

const domain = env("CALLSIGN_DOMAIN");
const tag = randomUUID().slice(0, 8);
const CONNECTION = `legacy-node-${tag}`;
const PASSWORD = `Zq7!${randomUUID().slice(0, 10)}-Wx`;
const EMAIL = `legacy-${tag}@example.com`;

// Auth0's "Custom Database: HTTP API" login template, as a tenant has it.
const LOGIN = `function login(email, password, callback) {
  const request = require('request');
  request.post({ url: configuration.API + '/login', json: { email: email, password: password } },
    function (err, response, body) {
      if (err) return callback(err);
      if (response.statusCode === 401) return callback(new WrongUsernameOrPasswordError(email));
      if (response.statusCode !== 200) return callback(new Error('store answered ' + response.statusCode));
      callback(null, { user_id: body.id, email: body.email, name: body.name, phone_number: body.phone });
    });
}`;

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

describe("custom database (not migrating) with the store's MFA phone", () => {
  let server;
  let api;
  let app;
  let connection;
  let logins = 0;

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const b = JSON.parse(body || "{}");
        logins += 1;
        if (req.url === "/login" && b.email === EMAIL && b.password === PASSWORD) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ id: `n${tag}`, email: EMAIL, name: "Legacy Node", phone: "+14155550177" }));
        } else {
          res.writeHead(401, { "content-type": "application/json" });
          res.end("{}");
        }
      });
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    api = `http://127.0.0.1:${server.address().port}`;
    app = await management.clients.create({
      name: `compat-node-customdb-${tag}`,
      app_type: "regular_web",
      grant_types: ["password", "http://auth0.com/oauth/grant-type/password-realm"],
    });
  });

  after(async () => {
    await quietly(() => management.users.delete(`auth0|n${tag}`));
    if (connection) await quietly(() => management.connections.delete(connection.id));
    if (app) await quietly(() => management.clients.delete(app.client_id));
    server?.close();
  });

  it("saves the scripts and keeps the configuration sealed", async () => {
    connection = await management.connections.create({
      name: CONNECTION,
      strategy: "auth0",
      enabled_clients: [app.client_id],
      options: {
        enabledDatabaseCustomization: true,
        import_mode: false,
        customScripts: { login: LOGIN },
        configuration: { API: api },
        callsign_store_phone: { mode: "trust" },
      },
    });
    const got = await management.connections.get(connection.id);
    assert.match(got.options.configuration.API, /^callsign-sealed:/);
    assert.ok(!JSON.stringify(got).includes(api), "the configuration is never shown in clear");
    await assert.rejects(
      management.connections.update(connection.id, {
        options: { ...got.options, customScripts: { login: "function login(e, p, cb) {\n  if (\n}" } },
      }),
      (e) => e.statusCode === 400 && /:3:/.test(JSON.stringify(e.body)),
    );
    // Sending back what GET showed keeps the configuration.
    await management.connections.update(connection.id, { options: got.options });
  });

  it("logs the store's users in and enrols their phone", async () => {
    const authJs = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
    const tokens = await authJs.getTokenByPassword({ username: EMAIL, password: PASSWORD, realm: CONNECTION, scope: "openid" });
    assert.equal(jwtPayload(tokens.idToken).sub, `auth0|n${tag}`);
    await assert.rejects(
      authJs.getTokenByPassword({ username: EMAIL, password: "wrong", realm: CONNECTION, scope: "openid" }),
      (e) => /invalid_grant/.test(`${e.code} ${e.cause?.error} ${e.message}`),
    );
    assert.equal(logins, 2, "every login asked the store");
    const methods = await management.users.authenticationMethods.list(`auth0|n${tag}`);
    const phones = (methods.data ?? methods).filter((m) => m.type === "phone");
    assert.equal(phones.length, 1);
    assert.match(phones[0].phone_number, /0177$/);
  });
});

describe("custom database: the MFA API in confirm mode, and migration", () => {
  let server;
  let api;
  let app;
  const made = [];
  const calls = { n: 0 };
  const EMAIL2 = `legacy2-${tag}@example.com`;
  const EMAIL3 = `legacy3-${tag}@example.com`;
  const PHONE2 = `+1415555${String(100 + Math.floor(Math.random() * 99)).padStart(4, "0")}`;

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const b = JSON.parse(body || "{}");
        calls.n += 1;
        // Two users: one for each connection (a store id is the user's id on every connection).
        const ok = (b.email === EMAIL2 || b.email === EMAIL3) && b.password === PASSWORD;
        const id = b.email === EMAIL2 ? `m${tag}` : `x${tag}`;
        res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
        res.end(ok ? JSON.stringify({ id, email: b.email, name: "Legacy Two", phone: PHONE2 }) : "{}");
      });
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    api = `http://127.0.0.1:${server.address().port}`;
    app = await management.clients.create({
      name: `compat-node-customdb2-${tag}`,
      app_type: "regular_web",
      grant_types: ["password", "http://auth0.com/oauth/grant-type/password-realm", "http://auth0.com/oauth/grant-type/mfa-oob"],
    });
    await management.guardian.factors.set("sms", { enabled: true });
    await management.guardian.policies.set(["all-applications"]);
  });

  after(async () => {
    await quietly(() => management.guardian.policies.set([]));
    await quietly(() => management.guardian.factors.set("sms", { enabled: false }));
    for (const id of made) await quietly(() => management.connections.delete(id));
    if (app) await quietly(() => management.clients.delete(app.client_id));
    server?.close();
  });

  const connection = async (name, importMode, storePhone) => {
    const c = await management.connections.create({
      name,
      strategy: "auth0",
      enabled_clients: [app.client_id],
      options: {
        enabledDatabaseCustomization: true,
        import_mode: importMode,
        customScripts: { login: LOGIN },
        configuration: { API: api },
        callsign_store_phone: storePhone,
      },
    });
    made.push(c.id);
    return c;
  };

  it("confirms the store's phone with the first challenge", async () => {
    const conn = await connection(`legacy-confirm-${tag}`, false, { mode: "confirm" });
    const authJs = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
    let err;
    try {
      await authJs.getTokenByPassword({ username: EMAIL2, password: PASSWORD, realm: conn.name, scope: "openid" });
    } catch (e) {
      err = e;
    }
    assert.ok(err && isMfaRequiredError(err), `expected mfa_required, got ${err}`);
    const mfaToken = err.cause.mfa_token;
    const listed = await authJs.mfa.listAuthenticators({ mfaToken });
    const sms = listed.find((a) => a.id.startsWith("sms|dev_"));
    assert.ok(sms && sms.active === false, JSON.stringify(listed));
    const outbox = join(env("CALLSIGN_COMPAT_DATA_DIR"), "phone-outbox.ndjson");
    const seen = () => (existsSync(outbox) ? readFileSync(outbox, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)) : []).filter((m) => m.to === PHONE2);
    const before = seen().length;
    const sent = await authJs.mfa.challengeAuthenticator({ mfaToken, challengeType: "oob", authenticatorId: sms.id });
    let message;
    for (let i = 0; i < 200 && !message; i++) {
      message = seen()[before];
      if (!message) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(message, "the enrolment code reached the store's number");
    const code = message.text.match(/\d{6}/)[0];
    const tokens = await authJs.mfa.verify({ mfaToken, factorType: "oob", oobCode: sent.oobCode, bindingCode: code });
    assert.equal(jwtPayload(tokens.idToken ?? tokens.accessToken).sub, `auth0|m${tag}`);
  });

  it("migrates on first login (import_mode) and never asks the store again", async () => {
    await management.guardian.policies.set([]);
    const conn = await connection(`legacy-migrate-${tag}`, true, { mode: "off" });
    const authJs = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
    const start = calls.n;
    for (let i = 0; i < 2; i++) {
      const t = await authJs.getTokenByPassword({ username: EMAIL3, password: PASSWORD, realm: conn.name, scope: "openid" });
      assert.ok(t.idToken);
    }
    assert.equal(calls.n - start, 1, "only the first login asked the store");
  });
});
