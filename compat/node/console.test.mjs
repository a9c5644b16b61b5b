// The agent console driven in a real browser: Debian's Chromium, headless, through
// playwright-core (no bundled browser download). scripts/compat starts the server and exports
// CALLSIGN_DOMAIN, CALLSIGN_CLIENT_ID, CALLSIGN_CLIENT_SECRET and NODE_EXTRA_CA_CERTS.
//
// Creates an agent (holding the phone-agent role) and a customer (refused at sign-in) through
// the Management API, configures a Twilio provider
// (its auth token verifies the inbound webhook), signs in on /console, looks the customer's
// number up, posts a signed inbound SMS webhook and waits for it in the live feed, and keeps
// a screenshot at target/artifacts/console.png. No Chromium is a failure, never a skip.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; run these tests through scripts/compat`);
  }
  return value;
}

const domain = env("CALLSIGN_DOMAIN");
const base = `https://${domain}`;
const CHROMIUM = process.env.CALLSIGN_CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../target/artifacts");
const TWILIO_TOKEN = `console-test-${randomUUID()}`;
const PASSWORD = "Str0ng-Passw0rd!";
const suffix = randomUUID().slice(0, 8);
// A valid US number unique to this run (555-01xx is reserved for fiction).
const CUSTOMER_PHONE = `+1415555${String(100 + Math.floor(Math.random() * 99)).padStart(4, "0")}`;

let token;

async function api(method, path, body) {
  const r = await fetch(`${base}/api/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** Twilio's X-Twilio-Signature: base64 HMAC-SHA1 over URL + sorted name+value pairs. */
function twilioSignature(url, params) {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac("sha1", TWILIO_TOKEN).update(data).digest("base64");
}

/** Waits for `locator`; on a timeout, fails with what the page showed instead. */
async function waitShowing(page, locator, what, errors) {
  try {
    await locator.waitFor({ timeout: 30000 });
  } catch (e) {
    const main = await page.locator("main").innerText().catch(() => "(none)");
    const status = await page.locator("#feed-status").innerText().catch(() => "(none)");
    const feed = await page.locator("#feed").innerHTML().catch(() => "(none)");
    throw new Error(
      `${what} did not appear: ${e.message}\nfeed status: ${status}\nfeed: ${feed}\n` +
        `page text: ${main.slice(0, 2000)}\npage errors so far: ${JSON.stringify(errors)}\nurl: ${page.url()}`,
    );
  }
}

describe("agent console in Chromium", () => {
  let browser;
  let userDataDir;
  const created = [];
  let providerId;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: scripts/lib/deps.sh installs Debian's chromium`);
    const t = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "client_credentials",
        client_id: env("CALLSIGN_CLIENT_ID"),
        client_secret: env("CALLSIGN_CLIENT_SECRET"),
        audience: `${base}/api/v2/`,
      }),
    });
    assert.equal(t.status, 200);
    token = (await t.json()).access_token;

    // One provider per tenant: replace whatever an earlier suite left.
    const list = await api("GET", "/branding/phone/providers");
    for (const p of list.body?.providers ?? []) {
      await api("DELETE", `/branding/phone/providers/${p.id}`);
    }
    const prov = await api("POST", "/branding/phone/providers", {
      name: "twilio",
      configuration: { sid: "AC0123456789abcdef0123456789abcdef", default_from: "+14155552671", delivery_methods: ["text"] },
      credentials: { auth_token: TWILIO_TOKEN },
    });
    assert.equal(prov.status, 201, JSON.stringify(prov.body));
    providerId = prov.body.id;

    for (const u of [
      { email: `agent-${suffix}@example.com`, name: "Agent Smith" },
      { email: `customer-${suffix}@example.com`, name: "Casey Customer", phone_number: CUSTOMER_PHONE },
    ]) {
      const r = await api("POST", "/users", { connection: "Username-Password-Authentication", password: PASSWORD, ...u });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      created.push(r.body.user_id);
    }

    // The agent holds the documented `phone-agent` role (read:phone_lookups on the
    // Management API), set up through the Management API; the customer holds nothing.
    let role = await api("POST", "/roles", { name: "phone-agent", description: "Call-centre agents" });
    if (role.status === 409) {
      const listed = await api("GET", "/roles?name_filter=phone-agent");
      role = { status: 200, body: listed.body.find((r) => r.name === "phone-agent") };
    }
    assert.equal(role.status, 200, JSON.stringify(role.body));
    const granted = await api("POST", `/roles/${role.body.id}/permissions`, {
      permissions: [{ resource_server_identifier: `${base}/api/v2/`, permission_name: "read:phone_lookups" }],
    });
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    const assigned = await api("POST", `/roles/${role.body.id}/users`, { users: [created[0]] });
    assert.equal(assigned.status, 200, JSON.stringify(assigned.body));

    userDataDir = mkdtempSync(join(tmpdir(), "callsign-chromium-"));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      ignoreHTTPSErrors: true, // the server's self-signed certificate
      viewport: { width: 1200, height: 900 },
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  });

  after(async () => {
    await browser?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    for (const id of created) await api("DELETE", `/users/${encodeURIComponent(id)}`).catch(() => {});
    // The other suites expect the development phone outbox, not this Twilio provider.
    if (providerId) await api("DELETE", `/branding/phone/providers/${providerId}`).catch(() => {});
  });

  it("refuses a user without the phone-agent role", async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/console`);
    await page.getByLabel("Email").fill(`customer-${suffix}@example.com`);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("This account is not a phone agent.").waitFor({ timeout: 30000 });
    await page.close();
  });

  it("signs in, looks a number up and shows an inbound SMS live", async () => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    // Console errors (CSP violations included); failed loads are judged by URL below, since
    // Chromium asks for /favicon.ico on its own.
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
    });
    page.on("response", (r) => {
      if (r.status() >= 400 && !new URL(r.url()).pathname.endsWith("/favicon.ico")) {
        errors.push(`${r.status()} ${r.url()}`);
      }
    });

    await page.goto(`${base}/console`);
    await page.getByLabel("Email").fill(`agent-${suffix}@example.com`);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitShowing(page, page.getByRole("heading", { name: "Phone lookup" }), "the console after sign-in", errors);

    // Keyboard only: type the number, tab to the region, Enter submits.
    await page.getByLabel("Phone number").fill(CUSTOMER_PHONE.replace(/^\+1/, "(").replace(/^\((\d{3})/, "($1) "));
    await page.getByLabel(/Region/).fill("US");
    await page.keyboard.press("Enter");
    await waitShowing(page, page.getByRole("heading", { name: `Accounts for ${CUSTOMER_PHONE}` }), "the lookup result", errors);
    const results = page.locator("#results table");
    assert.match(await results.innerText(), /Casey Customer/);
    assert.match(await results.innerText(), new RegExp(`c\\*\\*\\*@example.com`));

    await waitShowing(page, page.locator("#feed-status", { hasText: "Live" }), "the live feed status", errors);

    const url = `${base}/webhooks/twilio/sms`;
    const params = {
      MessageSid: `SM${randomUUID().replace(/-/g, "")}`,
      AccountSid: "AC0123456789abcdef0123456789abcdef",
      From: CUSTOMER_PHONE,
      To: "+14155552671",
      Body: "Hello, I need help with my account",
    };
    const hook = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilioSignature(url, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    assert.equal(hook.status, 200);
    assert.equal(await hook.text(), '<?xml version="1.0" encoding="UTF-8"?><Response></Response>');

    const entry = page.locator("#feed li", { hasText: `SMS from ${CUSTOMER_PHONE}` });
    await waitShowing(page, entry, "the inbound SMS in the feed", errors);
    assert.match(await entry.innerText(), /Casey Customer/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "console.png"), fullPage: true });
    assert.deepEqual(errors, [], "no script or CSP errors in the page");
  });
});
