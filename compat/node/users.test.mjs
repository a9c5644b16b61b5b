// Compatibility tests: users, sign-up, password login, password change, logs and brute-force
// blocks through the official node-auth0 SDK (v5) against a running callsign server.
//
// Besides what foundation.test.mjs reads, scripts/compat exports CALLSIGN_COMPAT_DATA_DIR, the
// server's data dir: the development email sink appends every email as one JSON line to
// <data dir>/email-outbox.ndjson, and the password-reset link is read from there the way a user
// would read their inbox. The hosted reset page (`/lo/reset`) is driven with plain fetch, as a
// browser would; NODE_EXTRA_CA_CERTS makes it trust the self-signed certificate.
//
// Every email and name is unique per run, and the phone number differs from the Python suite's,
// so the two suites never see each other's users.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { AuthApiError, AuthenticationClient, ManagementClient, ManagementError, UserInfoClient } from "auth0";

function env(name) {
  const value = process.env[name];
  if (!value) {
    // Fail, never skip: a skipped compat suite would look green in CI.
    throw new Error(`${name} is not set; run these tests through scripts/compat`);
  }
  return value;
}

const domain = env("CALLSIGN_DOMAIN");
const dataDir = env("CALLSIGN_COMPAT_DATA_DIR");
assert.ok(statSync(dataDir).isDirectory(), `CALLSIGN_COMPAT_DATA_DIR=${dataDir} is not a directory`);

const CONNECTION = "Username-Password-Authentication";
const PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm";
// Auth0's brute-force protection: 10 consecutive failures for one user from one IP.
const BRUTE_FORCE_THRESHOLD = 10;
// A UK number from Ofcom's drama range, in the three spellings the search must treat as one.
const PHONE_E164 = "+442079460959";
const PHONE_SPELLINGS = ["+44 20 7946 0959", "+442079460959", "0044 20 7946 0959"];
// Argon2 on a small shared CI machine can be slow; the SDK's default timeout is 10 s.
const TIMEOUT_MS = 30_000;
const OUTBOX_WAIT_MS = 20_000;
const RESET_LINK = /https:\/\/[^\s"'<>]+\/lo\/reset\?ticket=[A-Za-z0-9._~%-]+/;

const uniqueEmail = (tag) => `compat-node-${tag}-${randomUUID().slice(0, 12)}@example.com`;
// Meets any of Auth0's password policies and shares nothing with the user's email.
const strongPassword = () => `Zq7!${randomUUID().slice(0, 10)}-Wx`;

function jwtPayload(token) {
  const parts = token.split(".");
  assert.equal(parts.length, 3, `not a compact JWS: ${token.slice(0, 40)}...`);
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

const audiences = (claims) => (Array.isArray(claims.aud) ? claims.aud : [claims.aud]);

/** Runs fn and returns the error it must throw, checked to be of `type`. */
async function failure(type, fn) {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof type, `expected a ${type.name}, got ${err}`);
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

/** Polls fn until it returns something truthy: logs and emails are written after the response. */
async function eventually(fn, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await fn();
    if (got) return got;
    if (Date.now() >= deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

function readOutbox() {
  const path = join(dataDir, "email-outbox.ndjson");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
}

const waitForEmail = (to, type) =>
  eventually(
    () => readOutbox().find((m) => m.to === to && m.type === type),
    `a ${type} email to ${to} in the outbox`,
    OUTBOX_WAIT_MS,
  );

function resetLink(email) {
  const match = RESET_LINK.exec(email.text ?? "") ?? RESET_LINK.exec(email.html ?? "");
  assert.ok(match, `no /lo/reset link in the email: ${JSON.stringify(email)}`);
  return match[0];
}

const management = new ManagementClient({
  domain,
  clientId: env("CALLSIGN_CLIENT_ID"),
  clientSecret: env("CALLSIGN_CLIENT_SECRET"),
});

async function logTypes(userId) {
  const page = await management.users.logs.list(userId, { per_page: 100 });
  return page.data.map((e) => e.type);
}

async function waitForLogs(userId, wanted) {
  let seen = [];
  try {
    await eventually(async () => {
      seen = await logTypes(userId);
      return wanted.every((t) => seen.includes(t));
    }, `log types ${wanted} for ${userId}`);
  } catch {
    assert.fail(`user ${userId}: wanted log types ${wanted}, got ${seen}`);
  }
  return seen;
}

const searchIds = async (q) => (await management.users.list({ q, search_engine: "v3" })).data.map((u) => u.user_id);

// A confidential application allowed the password grants and refresh tokens. New applications
// are enabled on every database connection, so it can log users in at once.
let app;
let auth;
const userIds = [];

before(async () => {
  app = await management.clients.create({
    name: `compat-node-login-${randomUUID().slice(0, 12)}`,
    app_type: "regular_web",
    grant_types: ["password", PASSWORD_REALM, "refresh_token"],
  });
  assert.ok(app.client_id && app.client_secret, JSON.stringify(app));
  auth = new AuthenticationClient({
    domain,
    clientId: app.client_id,
    clientSecret: app.client_secret,
    timeoutDuration: TIMEOUT_MS,
  });
});

after(async () => {
  for (const id of userIds) await quietly(() => management.users.delete(id));
  if (app) await quietly(() => management.clients.delete(app.client_id));
});

const login = (username, password, extra = {}) =>
  auth.oauth.passwordGrant({ username, password, realm: CONNECTION, ...extra });

/** Signs up through the SDK; returns the Management user id and the response body. */
async function signUp(email, password, extra = {}) {
  const { data } = await auth.database.signUp({ email, password, connection: CONNECTION, ...extra });
  assert.equal(typeof data._id, "string", JSON.stringify(data));
  assert.ok(!data._id.startsWith("auth0|"), `_id is the identity id: ${JSON.stringify(data)}`);
  assert.equal(data.id, data._id, "the SDK copies _id into id");
  const userId = `auth0|${data._id}`;
  userIds.push(userId);
  return { userId, data };
}

describe("Management API: users", () => {
  it("creates, searches (email and phone spellings), gets, merges metadata and deletes users", async () => {
    const email = uniqueEmail("crud");
    const mixed = email[0].toUpperCase() + email.slice(1);
    const created = await management.users.create({
      connection: CONNECTION,
      email: mixed,
      password: strongPassword(),
      given_name: "Ada",
      family_name: "Lovelace",
      user_metadata: { theme: "dark", prefs: { lang: "en", tz: "UTC" }, drop: 1 },
      app_metadata: { plan: "free" },
    });
    userIds.push(created.user_id);
    assert.match(created.user_id, /^auth0\|/);
    assert.equal(created.email, email, "database emails are stored in lower case");
    assert.equal(created.email_verified, false);
    assert.equal(created.name, email);
    assert.equal(created.nickname, email.split("@")[0]);
    assert.deepEqual(
      created.identities.map((i) => [i.connection, i.provider]),
      [[CONNECTION, "auth0"]],
    );
    assert.equal(`auth0|${created.identities[0].user_id}`, created.user_id);

    const phoneUser = await management.users.create({
      connection: CONNECTION,
      email: uniqueEmail("phone"),
      phone_number: PHONE_SPELLINGS[0],
      password: strongPassword(),
    });
    userIds.push(phoneUser.user_id);
    assert.equal(phoneUser.phone_number, PHONE_E164, "stored in E.164");
    assert.equal(phoneUser.phone_verified, false);

    const page = await management.users.list({ q: `email:"${email}"`, search_engine: "v3" });
    assert.deepEqual(
      page.data.map((u) => u.user_id),
      [created.user_id],
    );
    assert.equal(page.response.total, 1, JSON.stringify(page.response));
    assert.equal(page.response.start, 0, JSON.stringify(page.response));
    assert.ok(Array.isArray(page.response.users), JSON.stringify(page.response));
    assert.deepEqual(await searchIds(`email:"${mixed}"`), [created.user_id], "case-insensitive");
    const byEmail = await management.users.listUsersByEmail({ email });
    assert.deepEqual(
      byEmail.map((u) => u.user_id),
      [created.user_id],
    );

    for (const spelling of PHONE_SPELLINGS) {
      assert.deepEqual(await searchIds(`phone_number:"${spelling}"`), [phoneUser.user_id], spelling);
    }

    const got = await management.users.get(created.user_id);
    assert.equal(got.email, email);
    assert.deepEqual(got.user_metadata, { theme: "dark", prefs: { lang: "en", tz: "UTC" }, drop: 1 });
    assert.deepEqual(got.app_metadata, { plan: "free" });

    // Top-level keys merge; a nested object is replaced; null removes a key.
    const updated = await management.users.update(created.user_id, {
      user_metadata: { prefs: { lang: "fr" }, drop: null, added: true },
      given_name: "Augusta",
    });
    const want = { theme: "dark", prefs: { lang: "fr" }, added: true };
    assert.deepEqual(updated.user_metadata, want);
    assert.deepEqual(updated.app_metadata, { plan: "free" });
    assert.equal(updated.given_name, "Augusta");
    assert.equal(updated.family_name, "Lovelace");
    assert.deepEqual((await management.users.get(created.user_id)).user_metadata, want);

    for (const id of [created.user_id, phoneUser.user_id]) {
      await management.users.delete(id);
      const err = await failure(ManagementError, () => management.users.get(id));
      assert.equal(err.statusCode, 404);
      assert.equal(err.body?.errorCode, "inexistent_user", JSON.stringify(err.body));
      assert.equal(err.body?.error, "Not Found", JSON.stringify(err.body));
      // A second DELETE also succeeds (recorded Auth0 behaviour).
      await management.users.delete(id);
    }
    assert.deepEqual(await searchIds(`email:"${email}"`), []);
    assert.deepEqual(await searchIds(`phone_number:"${PHONE_E164}"`), []);
  });

  it("refuses a second user with the same email (409)", async () => {
    const email = uniqueEmail("dup");
    const first = await management.users.create({ connection: CONNECTION, email, password: strongPassword() });
    userIds.push(first.user_id);
    const err = await failure(ManagementError, () =>
      management.users.create({ connection: CONNECTION, email, password: strongPassword() }),
    );
    assert.equal(err.statusCode, 409);
    assert.equal(err.body?.message, "The user already exists.", JSON.stringify(err.body));
  });
});

describe("Authentication API: sign-up, password-realm login, userinfo, revoke; logs", () => {
  it("signs up, logs in, reads userinfo, refreshes and revokes, and logs it all", async () => {
    const email = uniqueEmail("signup");
    const password = strongPassword();
    const { userId, data } = await signUp(email, password, {
      given_name: "Grace",
      user_metadata: { source: "compat" },
    });
    assert.equal(data.email, email);
    assert.equal(data.email_verified, false);
    assert.equal(data.given_name, "Grace");

    const dup = await failure(AuthApiError, () =>
      auth.database.signUp({ email, password: strongPassword(), connection: CONNECTION }),
    );
    assert.equal(dup.statusCode, 400);
    assert.equal(dup.error, "user_exists", JSON.stringify(dup.body));

    // With `openid` the SDK also validates the ID token (RS256 via JWKS, iss, aud, exp, iat).
    const { data: tokens } = await login(email, password, { scope: "openid profile email offline_access" });
    assert.equal(tokens.token_type, "Bearer");
    assert.ok(tokens.expires_in > 0);
    assert.ok(tokens.refresh_token, "offline_access with the refresh_token grant");
    const access = jwtPayload(tokens.access_token);
    assert.equal(access.iss, `https://${domain}/`);
    assert.equal(access.sub, userId);
    assert.ok(audiences(access).includes(`https://${domain}/userinfo`), JSON.stringify(access));
    assert.equal(access.gty, "password");
    assert.equal(access.azp, app.client_id);
    const idClaims = jwtPayload(tokens.id_token);
    assert.equal(idClaims.sub, userId);
    assert.ok(audiences(idClaims).includes(app.client_id));
    assert.equal(idClaims.email, email);

    // Without `realm` the SDK sends grant_type=password: the tenant's default directory.
    const { data: plain } = await auth.oauth.passwordGrant({ username: email, password });
    assert.equal(jwtPayload(plain.access_token).sub, userId);

    const { data: info } = await new UserInfoClient({ domain }).getUserInfo(tokens.access_token);
    assert.equal(info.sub, userId);
    assert.equal(info.email, email);
    assert.equal(info.email_verified, false);
    assert.equal(info.given_name, "Grace");

    const user = await management.users.get(userId);
    assert.equal(user.logins_count, 2);
    assert.ok(user.last_login);
    assert.deepEqual(user.user_metadata, { source: "compat" });

    const { data: refreshed } = await auth.oauth.refreshTokenGrant({ refresh_token: tokens.refresh_token });
    assert.ok(refreshed.access_token);
    const current = refreshed.refresh_token ?? tokens.refresh_token;
    await auth.oauth.revokeRefreshToken({ token: current });
    const revoked = await failure(AuthApiError, () => auth.oauth.refreshTokenGrant({ refresh_token: current }));
    assert.equal(revoked.statusCode, 403);
    assert.equal(revoked.error, "invalid_grant");

    const wrong = await failure(AuthApiError, () => login(email, `${password}-wrong`));
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.error, "invalid_grant");
    assert.equal(wrong.error_description, "Wrong email or password.");
    const unknown = await failure(AuthApiError, () => login(uniqueEmail("nobody"), password));
    assert.equal(unknown.statusCode, 403);
    assert.equal(unknown.error_description, wrong.error_description, "an unknown user is indistinguishable");

    await waitForLogs(userId, ["ss", "s", "fp"]);
    const recent = await management.logs.list({ per_page: 100, sort: "date:-1" });
    const mine = recent.data.filter((e) => e.user_id === userId);
    for (const t of ["ss", "s", "fp"]) {
      assert.ok(
        mine.some((e) => e.type === t),
        `tenant log lacks ${t}: ${JSON.stringify(recent.data.map((e) => [e.type, e.user_id]))}`,
      );
    }
    const success = mine.find((e) => e.type === "s");
    assert.equal(success.client_id, app.client_id);
    assert.equal(success.connection, CONNECTION);
    assert.ok(success.log_id && success.date, JSON.stringify(success));
    const dates = recent.data.map((e) => String(e.date));
    assert.deepEqual(dates, [...dates].sort().reverse(), "sort=date:-1 is newest first");
  });
});

describe("Password change through the emailed link", () => {
  it("sends the link, resets on the hosted page, and only the new password works", async () => {
    const email = uniqueEmail("reset");
    const oldPassword = strongPassword();
    const newPassword = strongPassword();
    const { userId } = await signUp(email, oldPassword);

    const sent = "We've just sent you an email to reset your password.";
    const { data: text } = await auth.database.changePassword({ email, connection: CONNECTION });
    assert.equal(text, sent);
    const nobody = uniqueEmail("nobody");
    const { data: same } = await auth.database.changePassword({ email: nobody, connection: CONNECTION });
    assert.equal(same, sent, "same answer for an unknown user");

    const message = await waitForEmail(email, "change_password");
    assert.ok(message.subject, JSON.stringify(message));
    const link = resetLink(message);

    const page = await fetch(link);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    const ticket = /name="ticket"\s+value="([^"]+)"/.exec(await page.text());
    assert.ok(ticket, "the form carries the ticket");
    const action = `${link.split("/lo/reset")[0]}/lo/reset`;
    const post = (password, confirm) =>
      fetch(action, {
        method: "POST",
        body: new URLSearchParams({ ticket: ticket[1], password, confirm }),
        redirect: "manual",
      });

    assert.equal((await post(newPassword, `${newPassword}x`)).status, 400, "passwords differ");
    assert.ok((await login(email, oldPassword)).data.access_token, "nothing changed yet");
    assert.equal((await post(newPassword, newPassword)).status, 200);
    assert.equal((await post(newPassword, newPassword)).status, 400, "a ticket works once");

    const old = await failure(AuthApiError, () => login(email, oldPassword));
    assert.equal(old.statusCode, 403);
    assert.equal(old.error, "invalid_grant");
    assert.ok((await login(email, newPassword)).data.access_token);

    assert.ok((await management.users.get(userId)).last_password_reset);
    await waitForLogs(userId, ["scpr", "scp"]);
    assert.ok(!readOutbox().some((m) => m.to === nobody), "nothing is sent to an unknown user");
  });
});

describe("Brute-force protection and user blocks", () => {
  it("blocks after 10 wrong passwords; user-blocks shows and lifts the block", async () => {
    const email = uniqueEmail("brute");
    const password = strongPassword();
    const { userId } = await signUp(email, password);

    for (let attempt = 1; attempt <= BRUTE_FORCE_THRESHOLD; attempt++) {
      const err = await failure(AuthApiError, () => login(email, `wrong-${attempt}`));
      if (attempt < BRUTE_FORCE_THRESHOLD) {
        assert.equal(err.statusCode, 403, `attempt ${attempt}`);
        assert.equal(err.error, "invalid_grant", `attempt ${attempt}`);
      } else {
        // Auth0 answers the failure that reaches the threshold either way.
        assert.ok(["invalid_grant", "too_many_attempts"].includes(err.error), `attempt ${attempt}: ${err.error}`);
      }
    }
    const blocked = await failure(AuthApiError, () => login(email, password));
    assert.equal(blocked.statusCode, 429);
    assert.equal(blocked.error, "too_many_attempts");

    const listed = await management.userBlocks.listByIdentifier({ identifier: email });
    assert.deepEqual(
      listed.blocked_for.map((b) => [b.identifier, b.ip]),
      [[email, "127.0.0.1"]],
    );
    const byUser = await management.userBlocks.list(userId);
    assert.deepEqual(
      byUser.blocked_for.map((b) => b.ip),
      ["127.0.0.1"],
    );
    await waitForEmail(email, "blocked_account");
    await waitForLogs(userId, ["fp", "limit_wc"]);

    await management.userBlocks.deleteByIdentifier({ identifier: email });
    assert.deepEqual((await management.userBlocks.listByIdentifier({ identifier: email })).blocked_for ?? [], []);
    assert.ok((await login(email, password)).data.access_token);

    // Block again, then lift it by user id.
    for (let attempt = 0; attempt < BRUTE_FORCE_THRESHOLD; attempt++) {
      await failure(AuthApiError, () => login(email, `again-${attempt}`));
    }
    assert.equal((await failure(AuthApiError, () => login(email, password))).error, "too_many_attempts");
    await management.userBlocks.delete(userId);
    assert.deepEqual((await management.userBlocks.list(userId)).blocked_for ?? [], []);
    assert.ok((await login(email, password)).data.access_token);
  });

  it("answers 404 for the blocks of an unknown user", async () => {
    const err = await failure(ManagementError, () => management.userBlocks.list(`auth0|${"0".repeat(24)}`));
    assert.equal(err.statusCode, 404);
  });
});
