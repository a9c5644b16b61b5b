// The hosted login in a real browser: Debian's Chromium, headless, through playwright-core.
// scripts/compat starts the server and exports CALLSIGN_DOMAIN, CALLSIGN_CLIENT_ID,
// CALLSIGN_CLIENT_SECRET, CALLSIGN_COMPAT_DATA_DIR and NODE_EXTRA_CA_CERTS.
//
// 1. A single-page application on its own origin (https://127.0.0.1:<another port>, served
//    here with the server's certificate: cross-origin, same site) uses the official
//    @auth0/auth0-spa-js 2.26.0: it logs in through /authorize with SMS MFA enrolment (the
//    code read from the development phone outbox) and the recovery code shown once, logs
//    out, logs in again with the SMS challenge, then with the recovery code, then through a
//    popup (loginWithPopup); silent authentication (prompt=none in an iframe,
//    response_mode=web_message) gets a token.
// 2. openid-client (Node) completes the code flow with PKCE for a confidential application
//    and validates the ID token; its signature is checked against the JWKS here too.
// 3. A regular web app with Auth0's express-openid-connect 3.4.0 and its defaults
//    (response_type=id_token, response_mode=form_post) logs in through the session and out.
// 4. What must be refused is: an unknown redirect URI (an error page, no redirect), a
//    replayed form, a reused code (which revokes the refresh token it gave).
//
// Screenshots of every page go to target/artifacts/hosted-*.png.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, randomUUID, verify } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import express from "express";
import { auth } from "express-openid-connect";
import { chromium } from "playwright-core";
import * as oidc from "openid-client";

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; run these tests through scripts/compat`);
  }
  return value;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const domain = env("CALLSIGN_DOMAIN");
const base = `https://${domain}`;
const dataDir = env("CALLSIGN_COMPAT_DATA_DIR");
const CHROMIUM = process.env.CALLSIGN_CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = resolve(HERE, "../../target/artifacts");
const PASSWORD = "Str0ng-Passw0rd!";
const suffix = randomUUID().slice(0, 8);
const EMAIL = `hosted-${suffix}@example.com`;
// A valid US number unique to this run (555-01xx is reserved for fiction).
const NATIONAL = `415555${String(100 + Math.floor(Math.random() * 99)).padStart(4, "0")}`;
const PHONE = `+1${NATIONAL}`;

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

async function eventually(fn, what, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The messages sent to PHONE through the development outbox. */
function messages() {
  const path = join(dataDir, "phone-outbox.ndjson");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((m) => m.to === PHONE);
}

let seen = 0;
async function nextCode(type) {
  const m = await eventually(() => messages()[seen], `an SMS to ${PHONE}`);
  seen += 1;
  assert.equal(m.channel, "sms");
  assert.equal(m.type, type, JSON.stringify(m));
  return m.text.match(/\d{6}/)[0];
}

async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `hosted-${name}.png`), fullPage: true });
}

/** What an accessible form must look like (asserted on every hosted page the flow sees). */
async function checkForm(page) {
  const problems = await page.evaluate(() => {
    const out = [];
    for (const i of document.querySelectorAll("input:not([type=hidden]), select")) {
      if (!i.id || !document.querySelector(`label[for="${i.id}"]`)) {
        if (!i.closest("label")) out.push(`input without a label: ${i.outerHTML}`);
      }
    }
    for (const f of document.querySelectorAll("form")) {
      const submits = f.querySelectorAll('button[type="submit"], button:not([type])');
      if (submits.length !== 1) out.push(`form with ${submits.length} submit buttons: ${f.action}`);
    }
    if (!document.querySelector("[aria-live]")) out.push("no live region");
    return out;
  });
  assert.deepEqual(problems, []);
}

// The single-page application, served on its own origin.
function spaPage(clientId) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo SPA</title>
<script src="/auth0-spa-js.js"></script></head>
<body><h1>Demo SPA</h1><p id="status">loading</p>
<button id="login">Log in</button> <button id="logout">Log out</button>
<script type="module">
const client = await auth0.createAuth0Client({
  domain: ${JSON.stringify(domain)},
  clientId: ${JSON.stringify(clientId)},
  authorizationParams: { redirect_uri: location.origin + "/", scope: "openid profile email" },
});
window.app = client;
if (location.search.includes("code=") || location.search.includes("error=")) {
  try { await client.handleRedirectCallback(); } catch (e) { window.callbackError = String(e); }
  history.replaceState({}, "", "/");
}
const user = await client.getUser();
document.getElementById("status").textContent = user ? "signed in as " + user.email : "signed out";
document.getElementById("login").onclick = () => client.loginWithRedirect();
document.getElementById("logout").onclick = () => client.logout({ logoutParams: { returnTo: location.origin + "/" } });
</script></body></html>`;
}

describe("hosted login in Chromium", () => {
  let browser;
  let userDataDir;
  let spaServer;
  let spaOrigin;
  let spa; // the SPA client
  let web; // the confidential client (openid-client)
  let expressServer;
  let expressOrigin;
  let expressApp; // its client
  let userId;
  const errors = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
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

    // The SPA's origin: another port of 127.0.0.1 with the server's own certificate.
    const tls = join(dataDir, "tls");
    spaServer = createServer(
      { cert: readFileSync(join(tls, "cert.pem")), key: readFileSync(join(tls, "key.pem")) },
      (req, res) => {
        const url = new URL(req.url, "https://127.0.0.1");
        if (url.pathname === "/auth0-spa-js.js") {
          res.writeHead(200, { "content-type": "text/javascript" });
          res.end(readFileSync(join(HERE, "node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js")));
        } else if (url.pathname === "/callback") {
          res.writeHead(200, { "content-type": "text/plain" }).end("callback");
        } else {
          res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(spaPage(spa.client_id));
        }
      },
    );
    await new Promise((r) => spaServer.listen(0, "127.0.0.1", r));
    spaOrigin = `https://127.0.0.1:${spaServer.address().port}`;

    const made = await api("POST", "/clients", {
      name: "Demo SPA",
      app_type: "spa",
      token_endpoint_auth_method: "none",
      callbacks: [`${spaOrigin}/`],
      web_origins: [spaOrigin],
      allowed_logout_urls: [`${spaOrigin}/`],
      grant_types: ["authorization_code", "refresh_token"],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    spa = made.body;
    const made2 = await api("POST", "/clients", {
      name: "Demo Web App",
      app_type: "regular_web",
      callbacks: [`${spaOrigin}/callback`],
      grant_types: ["authorization_code", "refresh_token"],
    });
    assert.equal(made2.status, 201, JSON.stringify(made2.body));
    web = made2.body;

    const u = await api("POST", "/users", { connection: "Username-Password-Authentication", email: EMAIL, password: PASSWORD });
    assert.equal(u.status, 201, JSON.stringify(u.body));
    userId = u.body.user_id;

    // SMS MFA for everyone, codes to the development outbox (no provider).
    const list = await api("GET", "/branding/phone/providers");
    for (const p of list.body?.providers ?? []) await api("DELETE", `/branding/phone/providers/${p.id}`);
    for (const f of ["sms", "recovery-code"]) {
      assert.equal((await api("PUT", `/guardian/factors/${f}`, { enabled: true })).status, 200);
    }
    assert.equal((await api("PUT", "/guardian/factors/phone/message-types", { message_types: ["sms"] })).status, 200);
    assert.equal((await api("PUT", "/guardian/policies", ["all-applications"])).status, 200);
    await api("PATCH", "/tenants/settings", {
      friendly_name: "Acme Travel",
      universal_login: { colors: { primary: "#0b6e4f", page_background: "#eef3f1" } },
    });

    // A regular web app on a third origin, with express-openid-connect and its defaults.
    const tlsOptions = { cert: readFileSync(join(tls, "cert.pem")), key: readFileSync(join(tls, "key.pem")) };
    const listening = createServer(tlsOptions);
    await new Promise((r) => listening.listen(0, "127.0.0.1", r));
    expressOrigin = `https://127.0.0.1:${listening.address().port}`;
    const made3 = await api("POST", "/clients", {
      name: "Express App",
      app_type: "regular_web",
      callbacks: [`${expressOrigin}/callback`],
      allowed_logout_urls: [`${expressOrigin}/`],
      grant_types: ["implicit", "authorization_code"],
    });
    assert.equal(made3.status, 201, JSON.stringify(made3.body));
    expressApp = made3.body;
    const webApp = express();
    webApp.use(
      auth({
        issuerBaseURL: `${base}/`,
        baseURL: expressOrigin,
        clientID: expressApp.client_id,
        secret: randomUUID() + randomUUID(),
        authRequired: false,
        idpLogout: true,
      }),
    );
    webApp.get("/", (req, res) => res.send(req.oidc.isAuthenticated() ? `hello ${req.oidc.user.email}` : "anonymous"));
    listening.on("request", webApp);
    expressServer = listening;

    userDataDir = mkdtempSync(join(tmpdir(), "callsign-chromium-"));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      ignoreHTTPSErrors: true, // the self-signed certificate of both origins
      viewport: { width: 1100, height: 860 },
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });

  after(async () => {
    await browser?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    spaServer?.close();
    expressServer?.close();
    await api("PUT", "/guardian/policies", []).catch(() => {});
    await api("PATCH", "/tenants/settings", { friendly_name: "callsign", universal_login: null }).catch(() => {});
    if (userId) await api("DELETE", `/users/${encodeURIComponent(userId)}`).catch(() => {});
    for (const c of [spa, web, expressApp]) if (c) await api("DELETE", `/clients/${c.client_id}`).catch(() => {});
  });

  async function newPage() {
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.removeAllListeners("pageerror");
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
    });
    return page;
  }

  async function status(page) {
    const s = page.locator("#status");
    await eventually(async () => !/loading/.test(await s.innerText()), "the SPA to settle");
    return s.innerText();
  }

  async function password(page) {
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await checkForm(page);
    assert.equal(await page.getByLabel("Email address").getAttribute("autocomplete"), "username");
    assert.equal(await page.getByLabel("Password").getAttribute("autocomplete"), "current-password");
    await page.getByLabel("Email address").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Continue" }).click();
  }

  let recoveryCode;

  it("logs in with SMS enrolment and the recovery code shown once", async () => {
    const page = await newPage();
    await page.goto(spaOrigin);
    assert.equal(await status(page), "signed out");
    await page.click("#login");
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await shot(page, "1-login");
    // A wrong password is announced and changes nothing.
    await page.getByLabel("Email address").fill(EMAIL);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByText("Wrong email or password.").waitFor();
    assert.equal(await page.locator("#notice").getAttribute("role"), "alert");
    await shot(page, "2-login-error");
    await password(page);

    await page.getByRole("heading", { name: "Secure your account" }).waitFor();
    await checkForm(page);
    assert.equal(await page.getByLabel("Phone number").getAttribute("type"), "tel");
    await page.getByLabel("Country").selectOption("US");
    await page.getByLabel("Phone number").fill(NATIONAL);
    await shot(page, "3-enroll");
    await page.getByRole("button", { name: "Send code" }).click();

    await page.getByRole("heading", { name: "Verify your phone" }).waitFor();
    await checkForm(page);
    const code = page.getByLabel("Enter the 6-digit code");
    assert.equal(await code.getAttribute("autocomplete"), "one-time-code");
    assert.equal(await code.getAttribute("inputmode"), "numeric");
    await code.fill(await nextCode("otp_enroll"));
    await shot(page, "4-enroll-code");
    await page.getByRole("button", { name: "Continue" }).click();

    await page.getByRole("heading", { name: "Save your recovery code" }).waitFor();
    recoveryCode = (await page.locator("#recovery-code code").innerText()).trim();
    assert.match(recoveryCode, /^[A-Z0-9]{24}$/);
    await shot(page, "5-recovery-code");
    await page.getByLabel("I have safely saved this code").check();
    await page.getByRole("button", { name: "Continue" }).click();

    assert.equal(await status(page), `signed in as ${EMAIL}`);
    const claims = await page.evaluate(() => app.getIdTokenClaims());
    assert.equal(claims.sub, userId);
    assert.deepEqual(claims.amr, ["pwd", "mfa"]);
    assert.equal(claims.iss, `${base}/`);
    assert.deepEqual(errors, []);
  });

  it("authenticates silently (prompt=none, web_message) with the session", async () => {
    const page = await newPage();
    const at = await page.evaluate(() => app.getTokenSilently({ cacheMode: "off" }));
    assert.equal(typeof at, "string");
    const claims = JSON.parse(Buffer.from(at.split(".")[1], "base64url").toString());
    assert.equal(claims.sub, userId);
    assert.equal(claims.azp, spa.client_id);
  });

  it("logs out, then in again with the SMS challenge", async () => {
    const page = await newPage();
    await page.click("#logout");
    await page.waitForURL(`${spaOrigin}/`);
    assert.equal(await status(page), "signed out");
    // The session is gone: silent authentication now fails with login_required.
    const silent = await page.evaluate(() => app.getTokenSilently({ cacheMode: "off" }).then(() => "ok", (e) => e.error));
    assert.equal(silent, "login_required");

    await page.click("#login");
    await password(page);
    await page.getByRole("heading", { name: "Verify your identity" }).waitFor();
    await checkForm(page);
    await page.getByText(/We sent a text message with a code to X+\d{4}/).waitFor();
    // The resend button counts down before it can be used (hosted.js).
    await page.waitForFunction(() => document.querySelector("button[data-countdown]")?.disabled === true);
    await shot(page, "6-challenge");
    await page.getByLabel("Enter the 6-digit code").fill("000000");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByText("That code is not right.").waitFor();
    await page.getByLabel("Enter the 6-digit code").fill(await nextCode("otp_verify"));
    await page.getByRole("button", { name: "Continue" }).click();
    assert.equal(await status(page), `signed in as ${EMAIL}`);
  });

  it("logs in with the recovery code and shows the next one", async () => {
    const page = await newPage();
    await page.click("#logout");
    await page.waitForURL(`${spaOrigin}/`);
    await page.click("#login");
    await password(page);
    await page.getByRole("heading", { name: "Verify your identity" }).waitFor();
    await nextCode("otp_verify"); // sent as the page appeared; not used
    await page.getByRole("link", { name: "Use a recovery code" }).click();
    await page.getByRole("heading", { name: "Use a recovery code" }).waitFor();
    await checkForm(page);
    await page.getByRole("textbox", { name: "Recovery code" }).fill(recoveryCode);
    await shot(page, "7-recovery-login");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Save your recovery code" }).waitFor();
    const next = (await page.locator("#recovery-code code").innerText()).trim();
    assert.notEqual(next, recoveryCode);
    await page.getByLabel("I have safely saved this code").check();
    await page.getByRole("button", { name: "Continue" }).click();
    assert.equal(await status(page), `signed in as ${EMAIL}`);
    assert.deepEqual(errors, []);
  });

  it("logs in through a popup (loginWithPopup: web_message to the opener)", async () => {
    const page = await newPage();
    await page.click("#logout");
    await page.waitForURL(`${spaOrigin}/`);
    assert.equal(await status(page), "signed out");
    const opened = page.waitForEvent("popup");
    const email = page.evaluate(() => app.loginWithPopup().then(() => app.getUser()).then((u) => u.email));
    const popup = await opened;
    await password(popup);
    await popup.getByRole("heading", { name: "Verify your identity" }).waitFor();
    await popup.getByLabel("Enter the 6-digit code").fill(await nextCode("otp_verify"));
    await popup.getByRole("button", { name: "Continue" }).click();
    assert.equal(await email, EMAIL);
  });

  it("shows the signup, forgotten-password and French pages", async () => {
    const page = await newPage();
    const client = encodeURIComponent(spa.client_id);
    const cb = encodeURIComponent(`${spaOrigin}/`);
    const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const q = `client_id=${client}&response_type=code&redirect_uri=${cb}&code_challenge=${challenge}&code_challenge_method=S256&prompt=login`;
    await page.goto(`${base}/authorize?${q}&screen_hint=signup`);
    await page.getByRole("heading", { name: "Create your account" }).waitFor();
    await checkForm(page);
    assert.equal(await page.getByLabel("Password").getAttribute("autocomplete"), "new-password");
    await shot(page, "8-signup");
    await page.goto(`${base}/authorize?${q}`);
    await page.getByRole("link", { name: "Forgot password?" }).click();
    await page.getByRole("heading", { name: "Forgot your password?" }).waitFor();
    await shot(page, "9-forgot");
    await page.goto(`${base}/authorize?${q}&ui_locales=fr`);
    await page.getByRole("heading", { name: "Connexion" }).waitFor();
    assert.equal(await page.locator("html").getAttribute("lang"), "fr");
    await shot(page, "10-login-fr");
  });

  it("refuses a redirect URI the application does not list, on a page", async () => {
    const page = await newPage();
    const evil = encodeURIComponent("https://evil.example/cb");
    const r = await page.goto(`${base}/authorize?client_id=${spa.client_id}&response_type=code&redirect_uri=${evil}`);
    assert.equal(r.status(), 400);
    assert.equal(new URL(page.url()).host, domain);
    await page.getByText("Callback URL mismatch.").waitFor();
    await shot(page, "11-error");
  });

  it("completes the code flow with PKCE through openid-client and validates the ID token", async () => {
    const config = await oidc.discovery(new URL(`${base}/`), web.client_id, web.client_secret);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${spaOrigin}/callback`,
      scope: "openid email offline_access",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    const page = await newPage();
    await page.goto(url.href);
    // The browser's SSO session (with MFA done) answers without a page.
    await page.waitForURL((u) => u.pathname === "/callback");
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.equal(claims.sub, userId);
    assert.equal(claims.aud, web.client_id);
    assert.equal(claims.email, EMAIL);
    assert.ok(tokens.refresh_token);

    // The signature, against the published keys.
    const [h, p, s] = tokens.id_token.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url").toString());
    const jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json();
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(jwk, "the ID token's kid is published");
    assert.ok(verify("RSA-SHA256", Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(s, "base64url")));

    // The code is single-use, and presenting it again revokes what it gave.
    const code = new URL(page.url()).searchParams.get("code");
    const again = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: web.client_id,
        client_secret: web.client_secret,
        code,
        redirect_uri: `${spaOrigin}/callback`,
        code_verifier: verifier,
      }),
    });
    assert.equal(again.status, 403);
    assert.equal((await again.json()).error, "invalid_grant");
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === "invalid_grant");
  });

  it("logs a regular web app in and out with express-openid-connect (id_token, form_post)", async () => {
    const page = await newPage();
    await page.goto(`${expressOrigin}/login`);
    // The session answers: a form_post page submits the ID token to the app's callback.
    try {
      await page.waitForURL(`${expressOrigin}/`, { timeout: 15000 });
    } catch (e) {
      throw new Error(`stuck at ${page.url()}: ${(await page.content()).slice(0, 3000)}`);
    }
    assert.equal(await page.locator("body").innerText(), `hello ${EMAIL}`);
    let logoutUrl;
    page.on("request", (r) => {
      if (r.url().includes("/logout")) logoutUrl = r.url();
    });
    await page.goto(`${expressOrigin}/logout`);
    try {
      await page.waitForURL(`${expressOrigin}/`, { timeout: 10000 });
    } catch (e) {
      throw new Error(`logout stuck at ${page.url()} after ${logoutUrl}: ${(await page.content()).slice(0, 2000)}`);
    }
    assert.equal(await page.locator("body").innerText(), "anonymous");
    // callsign's session ended too: the next login asks for the password.
    await page.goto(`${expressOrigin}/login`);
    await page.getByRole("heading", { name: "Log in" }).waitFor();
  });
});
