// Compatibility tests: phone MFA (SMS and voice), TOTP, recovery codes and passwordless SMS
// through the official Auth0 SDKs for node against a running callsign server:
//
//   * @auth0/auth0-auth-js (the SDK with Auth0's MFA API): `AuthClient.getTokenByPassword` (its
//     `mfa_required` error carries `mfa_token` and `mfa_requirements`), and `AuthClient.mfa`:
//     listAuthenticators, enrollAuthenticator, challengeAuthenticator and verify (the mfa-oob,
//     mfa-otp and mfa-recovery-code grants); plus getTokenByPasswordlessSms.
//   * auth0 (node-auth0): `passwordless.sendSMS` / `passwordless.loginWithSMS`, and the
//     ManagementClient for the tenant set-up (guardian factors and policies, phone provider,
//     connections, clients, users).
//
// Codes are read the way a user reads their phone. Without a tenant phone provider, messages go
// to the development outbox <CALLSIGN_COMPAT_DATA_DIR>/phone-outbox.ndjson (one JSON line per
// message: to, channel, type, text). Voice needs a tenant provider that can call, and an enabled
// provider carries every SMS and call: the MFA tests create a `custom` provider whose webhook
// (`configuration.callsign_webhook_url`; scripts/compat allows 127.0.0.1 through
// CALLSIGN_OUTBOUND_ALLOW, which also permits plain http there) is a small HTTP server
// in this process recording each notification (recipient, delivery_method, message_type, as_text).
//
// Guardian settings are tenant-wide and the other suites log users in without MFA: the MFA
// policy is on only inside the "phone MFA" describe block, and every setting is put back in its
// `after` hook. Phone numbers are unique to this suite (the Python one uses 0901-0903).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { AuthClient, MfaVerifyError, isMfaRequiredError } from "@auth0/auth0-auth-js";
import { AuthApiError, AuthenticationClient, ManagementClient } from "auth0";

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
const SMS_CONNECTION = "sms";
const PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm";
const MFA_OOB = "http://auth0.com/oauth/grant-type/mfa-oob";
const MFA_OTP = "http://auth0.com/oauth/grant-type/mfa-otp";
const MFA_RECOVERY = "http://auth0.com/oauth/grant-type/mfa-recovery-code";
const PASSWORDLESS_OTP = "http://auth0.com/oauth/grant-type/passwordless/otp";
// UK numbers from Ofcom's drama range (never assigned); the Python suite uses 0901-0903.
const PHONE_SMS = "+442079460911";
const PHONE_VOICE = "+442079460912";
const PHONE_PASSWORDLESS = "+442079460913";
const TIMEOUT_MS = 30_000;
const OUTBOX_WAIT_MS = 20_000;
const CODE = /(?<!\d)(\d{6})(?!\d)/;
// A call reads the code digit by digit: "... is, 0, 0, 6, 0, 8, 9."
const SPOKEN_CODE = /(?<![\d,])(\d(?:[,\s]+\d){5})(?![,\s]*\d)/;

const uniqueEmail = (tag) => `compat-node-mfa-${tag}-${randomUUID().slice(0, 12)}@example.com`;
const strongPassword = () => `Zq7!${randomUUID().slice(0, 10)}-Wx`;

function jwtPayload(token) {
  const parts = token.split(".");
  assert.equal(parts.length, 3, `not a compact JWS: ${token.slice(0, 40)}...`);
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

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

async function eventually(fn, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await fn();
    if (got) return got;
    if (Date.now() >= deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits), computed the way an authenticator app would. */
function totp(secretBase32, atMs = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secretBase32.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(ch);
    assert.ok(v >= 0, `not base32: ${secretBase32}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1_000_000).padStart(6, "0");
}

// ---------------------------------------------------------------------------------------------
// The phone: the development outbox plus the test webhook of the custom phone provider.

const webhookMessages = [];
let webhook;

async function startWebhook() {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const signed = ["webhook-id", "webhook-timestamp", "webhook-signature"].every((h) => req.headers[h]);
      const n = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}").notification ?? {};
      webhookMessages.push({
        to: n.recipient,
        channel: n.delivery_method === "voice" ? "voice" : "sms",
        type: n.message_type,
        text: n.as_text,
        signed,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/phone` };
}

/** One number's messages; `nextCode` returns the code of the next message to that number. */
class Phone {
  constructor(number) {
    this.number = number;
    this.seen = this.messages().length;
  }

  messages() {
    const path = join(dataDir, "phone-outbox.ndjson");
    const outbox = existsSync(path)
      ? readFileSync(path, "utf8")
          .split("\n")
          .filter((line) => line.trim())
          .map((line) => JSON.parse(line))
      : [];
    return [...outbox, ...webhookMessages].filter((m) => m.to === this.number);
  }

  async nextCode(channel, type) {
    const message = await eventually(
      () => this.messages()[this.seen],
      `a message to ${this.number}`,
      OUTBOX_WAIT_MS,
    );
    this.seen += 1;
    assert.equal(message.channel, channel, JSON.stringify(message));
    if (type) assert.equal(message.type, type, JSON.stringify(message));
    assert.notEqual(message.signed, false, `unsigned webhook call: ${JSON.stringify(message)}`);
    const match = (channel === "voice" ? SPOKEN_CODE : CODE).exec(message.text ?? "");
    assert.ok(match, `no 6-digit code in ${JSON.stringify(message)}`);
    return match[1].replace(/\D/g, "");
  }
}

// ---------------------------------------------------------------------------------------------
// Shared set-up: the application, the SDK clients, the users to delete.

const management = new ManagementClient({
  domain,
  clientId: env("CALLSIGN_CLIENT_ID"),
  clientSecret: env("CALLSIGN_CLIENT_SECRET"),
});

let app;
let authJs; // @auth0/auth0-auth-js
let auth; // node-auth0
const userIds = [];

before(async () => {
  app = await management.clients.create({
    name: `compat-node-mfa-${randomUUID().slice(0, 12)}`,
    app_type: "regular_web",
    // auth-js's getTokenByPassword sends grant_type=password with `realm` (node-auth0 and
    // auth0-python send password-realm), so the application needs both.
    grant_types: ["password", PASSWORD_REALM, MFA_OOB, MFA_OTP, MFA_RECOVERY, PASSWORDLESS_OTP],
  });
  assert.ok(app.client_id && app.client_secret, JSON.stringify(app));
  authJs = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
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

async function createUser() {
  const email = uniqueEmail("user");
  const password = strongPassword();
  const user = await management.users.create({ connection: CONNECTION, email, password });
  userIds.push(user.user_id);
  return { email, password, userId: user.user_id };
}

/** Logs in with auth-js; returns the `mfa_required` error's cause (mfa_token, mfa_requirements). */
async function mfaRequired(email, password) {
  let err;
  try {
    await authJs.getTokenByPassword({ username: email, password, realm: CONNECTION, scope: "openid" });
  } catch (e) {
    err = e;
  }
  assert.ok(err, "the login must ask for MFA");
  assert.ok(isMfaRequiredError(err), `expected mfa_required, got ${err} ${JSON.stringify(err.cause)}`);
  assert.equal(err.statusCode, 403);
  assert.equal(err.cause.error_description, "Multifactor authentication required");
  return err.cause;
}

function assertUserTokens(tokens, userId) {
  assert.ok(tokens.accessToken, JSON.stringify(tokens));
  assert.equal(jwtPayload(tokens.accessToken).sub, userId);
  if (tokens.idToken) {
    const claims = jwtPayload(tokens.idToken);
    assert.equal(claims.sub, userId);
    assert.ok([claims.aud].flat().includes(app.client_id), JSON.stringify(claims));
  }
}

/**
 * `POST /mfa/associate` through auth-js's `mfa.enrollAuthenticator`, exactly as the SDK sends it:
 * the Bearer mfa_token and the factor fields, no client credentials (the server takes the
 * application from the mfa_token, as Auth0 does).
 */
async function enroll({ mfaToken, authenticatorTypes, oobChannels, phoneNumber }) {
  const opts = { mfaToken, authenticatorTypes };
  if (oobChannels) opts.oobChannels = oobChannels;
  if (phoneNumber) opts.phoneNumber = phoneNumber;
  return authJs.mfa.enrollAuthenticator(opts);
}

// ---------------------------------------------------------------------------------------------
// Passwordless SMS (before the MFA policy is switched on)

describe("passwordless SMS", () => {
  let connection;
  const phoneUsers = [];

  before(async () => {
    connection = await management.connections.create({
      name: SMS_CONNECTION,
      strategy: "sms",
      enabled_clients: [app.client_id],
    });
  });

  after(async () => {
    for (const id of phoneUsers) await quietly(() => management.users.delete(id));
    if (connection) await quietly(() => management.connections.delete(connection.id));
  });

  it("node-auth0 sendSMS + loginWithSMS, then auth-js getTokenByPasswordlessSms", async () => {
    const phone = new Phone(PHONE_PASSWORDLESS);
    await auth.passwordless.sendSMS({ phone_number: PHONE_PASSWORDLESS });
    const code = await phone.nextCode("sms");

    const wrong = code === "000000" ? "111111" : "000000";
    const err = await failure(AuthApiError, () =>
      auth.passwordless.loginWithSMS({ phone_number: PHONE_PASSWORDLESS, code: wrong }),
    );
    assert.equal(err.statusCode, 403);
    assert.equal(err.error, "invalid_grant");
    assert.equal(err.error_description, "Wrong phone number or verification code.");

    const { data } = await auth.passwordless.loginWithSMS({
      phone_number: PHONE_PASSWORDLESS,
      code,
      scope: "openid",
    });
    assert.ok(data.access_token && data.id_token, JSON.stringify(data));
    const userId = jwtPayload(data.id_token).sub;
    phoneUsers.push(userId);
    assert.ok(userId.startsWith("sms|"), userId);
    const user = await management.users.get(userId);
    assert.equal(user.phone_number, PHONE_PASSWORDLESS);
    assert.equal(user.phone_verified, true);

    // A code works once.
    const replay = await failure(AuthApiError, () =>
      auth.passwordless.loginWithSMS({ phone_number: PHONE_PASSWORDLESS, code }),
    );
    assert.equal(replay.error, "invalid_grant");

    // The same connection through auth-js (its passwordless start would be `authJs.passwordless`;
    // the code comes from node-auth0's sendSMS so both SDKs meet the same server state).
    await auth.passwordless.sendSMS({ phone_number: PHONE_PASSWORDLESS });
    const second = await phone.nextCode("sms");
    const tokens = await authJs.getTokenByPasswordlessSms({ phoneNumber: PHONE_PASSWORDLESS, code: second });
    assert.equal(jwtPayload(tokens.accessToken).sub, userId, "the same user logs in again");
  });
});

// ---------------------------------------------------------------------------------------------
// Phone MFA and TOTP (MFA policy on only inside this block)

describe("phone MFA", () => {
  let provider;

  before(async () => {
    webhook = await startWebhook();
    provider = await management.branding.phone.providers.create({
      name: "custom",
      configuration: { delivery_methods: ["text", "voice"], callsign_webhook_url: webhook.url },
      credentials: {},
    });
    for (const factor of ["sms", "otp", "recovery-code"]) {
      assert.equal((await management.guardian.factors.set(factor, { enabled: true })).enabled, true);
    }
    const types = await management.guardian.factors.phone.setMessageTypes({ message_types: ["sms", "voice"] });
    assert.deepEqual([...types.message_types].sort(), ["sms", "voice"]);
    assert.deepEqual(await management.guardian.policies.set(["all-applications"]), ["all-applications"]);
  });

  after(async () => {
    // Put the tenant back: the other suites log in without MFA.
    await quietly(() => management.guardian.policies.set([]));
    await quietly(() => management.guardian.factors.phone.setMessageTypes({ message_types: ["sms"] }));
    for (const factor of ["sms", "otp", "recovery-code"]) {
      await quietly(() => management.guardian.factors.set(factor, { enabled: false }));
    }
    if (provider) await quietly(() => management.branding.phone.providers.delete(provider.id));
    if (webhook) await new Promise((resolve) => webhook.server.close(resolve));
  });

  for (const [channel, number] of [
    ["sms", PHONE_SMS],
    ["voice", PHONE_VOICE],
  ]) {
    it(`${channel}: enrol, challenge and recovery code through auth-js's mfa client`, async () => {
      const { email, password, userId } = await createUser();
      const phone = new Phone(number);

      const first = await mfaRequired(email, password);
      assert.deepEqual(first.mfa_requirements, { enroll: [{ type: "phone" }, { type: "otp" }] });
      assert.deepEqual(await authJs.mfa.listAuthenticators({ mfaToken: first.mfa_token }), []);

      const enrolled = await enroll({
        mfaToken: first.mfa_token,
        authenticatorTypes: ["oob"],
        oobChannels: [channel],
        phoneNumber: number,
      });
      assert.equal(enrolled.authenticatorType, "oob");
      assert.equal(enrolled.oobChannel, channel);
      assert.equal(enrolled.bindingMethod, "prompt");
      assert.ok(enrolled.oobCode, JSON.stringify(enrolled));
      assert.equal(enrolled.recoveryCodes?.length, 1, JSON.stringify(enrolled));
      const [recoveryCode] = enrolled.recoveryCodes;
      const code = await phone.nextCode(channel, "otp_enroll");

      const wrong = code === "000000" ? "111111" : "000000";
      const bad = await failure(MfaVerifyError, () =>
        authJs.mfa.verify({ mfaToken: first.mfa_token, factorType: "oob", oobCode: enrolled.oobCode, bindingCode: wrong }),
      );
      assert.equal(bad.cause.error, "invalid_grant");
      assert.equal(bad.cause.error_description, "Invalid binding_code.");

      const tokens = await authJs.mfa.verify({
        mfaToken: first.mfa_token,
        factorType: "oob",
        oobCode: enrolled.oobCode,
        bindingCode: code,
      });
      assertUserTokens(tokens, userId);

      // The next login asks for a challenge; the enrolled phone answers it.
      const second = await mfaRequired(email, password);
      assert.ok(second.mfa_requirements?.challenge?.some((c) => c.type === "phone"), JSON.stringify(second));
      const listed = await authJs.mfa.listAuthenticators({ mfaToken: second.mfa_token });
      const mine = listed.filter((a) => a.id.startsWith(`${channel}|dev_`));
      assert.equal(mine.length, 1, JSON.stringify(listed));
      assert.equal(mine[0].authenticatorType, "oob");
      assert.equal(mine[0].active, true);
      assert.ok(mine[0].name?.endsWith(number.slice(-4)), JSON.stringify(mine));
      assert.ok(!JSON.stringify(listed).includes(number), "the number is masked");
      assert.ok(listed.some((a) => a.id.startsWith("recovery-code|dev_")), JSON.stringify(listed));

      const sent = await authJs.mfa.challengeAuthenticator({
        mfaToken: second.mfa_token,
        challengeType: "oob",
        authenticatorId: mine[0].id,
      });
      assert.equal(sent.challengeType, "oob");
      assert.ok(sent.oobCode, JSON.stringify(sent));
      const challengeCode = await phone.nextCode(channel, "otp_verify");
      assertUserTokens(
        await authJs.mfa.verify({
          mfaToken: second.mfa_token,
          factorType: "oob",
          oobCode: sent.oobCode,
          bindingCode: challengeCode,
        }),
        userId,
      );

      // Lost phone: the recovery code logs in once and is replaced by a new one.
      const third = await mfaRequired(email, password);
      const recovered = await authJs.mfa.verify({
        mfaToken: third.mfa_token,
        factorType: "recovery-code",
        recoveryCode,
      });
      assertUserTokens(recovered, userId);
      assert.ok(recovered.recoveryCode && recovered.recoveryCode !== recoveryCode, JSON.stringify(recovered));

      const fourth = await mfaRequired(email, password);
      const used = await failure(MfaVerifyError, () =>
        authJs.mfa.verify({ mfaToken: fourth.mfa_token, factorType: "recovery-code", recoveryCode }),
      );
      assert.equal(used.cause.error, "invalid_grant");
      const again = await authJs.mfa.verify({
        mfaToken: fourth.mfa_token,
        factorType: "recovery-code",
        recoveryCode: recovered.recoveryCode,
      });
      assertUserTokens(again, userId);
    });
  }

  it("TOTP: enrol through auth-js, code computed with RFC 6238", async () => {
    const { email, password, userId } = await createUser();
    const { mfa_token: mfaToken } = await mfaRequired(email, password);

    const enrolled = await enroll({ mfaToken, authenticatorTypes: ["otp"] });
    assert.equal(enrolled.authenticatorType, "otp");
    assert.ok(enrolled.secret, JSON.stringify(enrolled));
    const uri = new URL(enrolled.barcodeUri);
    assert.equal(uri.protocol, "otpauth:");
    assert.equal(uri.searchParams.get("secret"), enrolled.secret);

    const bad = await failure(MfaVerifyError, () =>
      authJs.mfa.verify({ mfaToken, factorType: "otp", otp: totp(enrolled.secret, Date.now() - 3_600_000) }),
    );
    assert.equal(bad.cause.error, "invalid_grant");
    assert.equal(bad.cause.error_description, "Invalid otp_code.");

    assertUserTokens(await authJs.mfa.verify({ mfaToken, factorType: "otp", otp: totp(enrolled.secret) }), userId);

    const next = await mfaRequired(email, password);
    const listed = await authJs.mfa.listAuthenticators({ mfaToken: next.mfa_token });
    const otp = listed.filter((a) => a.authenticatorType === "otp");
    assert.equal(otp.length, 1, JSON.stringify(listed));
    assert.ok(otp[0].id.startsWith("totp|dev_") && otp[0].active, JSON.stringify(listed));
  });

  it(
    "auth-js enrollAuthenticator as the SDK sends it (Bearer mfa_token, no client_id)",
    async () => {
      const { email, password } = await createUser();
      const { mfa_token: mfaToken } = await mfaRequired(email, password);
      const enrolled = await authJs.mfa.enrollAuthenticator({ mfaToken, authenticatorTypes: ["otp"] });
      assert.equal(enrolled.authenticatorType, "otp");
      assert.ok(enrolled.secret, JSON.stringify(enrolled));
    },
  );
});
