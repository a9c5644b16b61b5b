// Compatibility tests: custom-database connections through the official node SDKs against a
// running callsign.
//
//   * auth0 (node-auth0 v5) ManagementClient: connections.create / get / update with
//     `options.enabledDatabaseCustomization`, `customScripts` (Auth0's HTTP-API template, run
//     unchanged), `configuration` (shown sealed, never in clear) and callsign's
//     `callsign_store_phone` extension; a script that does not compile is refused with its line.
//   * @auth0/auth0-auth-js AuthClient.getTokenByPassword on that connection (the realm): the
//     store answers every login of a non-migrating user, whose SMS MFA phone comes from it.
//
// The legacy store is a small HTTP API this test serves on 127.0.0.1 (scripts/compat allows it
// for the sandbox with CALLSIGN_SANDBOX_ALLOW_HOSTS).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

import { AuthClient } from "@auth0/auth0-auth-js";
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
