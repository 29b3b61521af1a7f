// The API Keys page in a real browser: Debian's Chromium driven by
// playwright-core, against a `keymint serve` this file starts on a free
// loopback port with its own SQLite database and keys directory. Accounts
// and users come from the CLI, as an operator would make them.
//
// The tests run in order and share one account: a member, then its owner
// without MFA, then the owner's whole path (MFA, a key, its secret once,
// the token endpoint, revocation). Every page is watched for requests to
// another origin, Content-Security-Policy violations and script errors.
//
// KEYMINT_BIN names the binary (default target/debug/keymint), CHROMIUM the
// browser (default /usr/bin/chromium). UPDATE_SCREENSHOTS=1 copies the
// screenshots the test takes to screenshots/ for the README; E2E_ARTIFACTS
// names a folder for more screenshots (sign-in, MFA setup, dialogs).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.KEYMINT_BIN || resolve(here, "../../target/debug/keymint");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const STEP_TIMEOUT = 20_000;
const ARTIFACTS = process.env.E2E_ARTIFACTS;

const dir = mkdtempSync(join(tmpdir(), "keymint-e2e-"));
let server;
let base;
let env;
let context;
const offOrigin = [];
const cspViolations = [];
const scriptErrors = [];

const OWNER = { email: "owner@acme.example", password: "correct horse battery staple 1" };
const MEMBER = { email: "member@acme.example", password: "correct horse battery staple 2" };

// Helpers: ports, the CLI, the server.

function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

function keymintEnv(port) {
  return {
    PATH: process.env.PATH,
    KEYMINT_DATABASE_URL: join(dir, "keymint.db"),
    KEYMINT_KEYS_DIR: join(dir, "keys"),
    KEYMINT_LISTEN: `127.0.0.1:${port}`,
    KEYMINT_LOG: "warn",
  };
}

/** Runs a keymint command and returns the JSON object it prints. */
function cli(env, args, input) {
  const stdout = execFileSync(BIN, args, { env, input: input ?? "", encoding: "utf8" });
  return JSON.parse(stdout);
}

async function waitUntilReady(url) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
  throw new Error(`keymint did not become ready at ${url}`);
}

// TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s), as the authenticator app.

function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const bytes = [];
  for (const char of text.replace(/[\s=]/g, "").toUpperCase()) {
    const index = alphabet.indexOf(char);
    assert.notEqual(index, -1, `not base32: ${char}`);
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

function totpAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, "0");
}

let lastStep = -1;

/** A code no earlier than the next unused 30 s step, never one used before. */
async function nextCode(secret) {
  for (;;) {
    const now = Date.now() / 1000;
    const step = Math.floor(now / 30);
    // A step about to end could expire on the way; wait for the next too.
    if (step > lastStep && now - step * 30 < 27) {
      lastStep = step;
      return totpAt(secret, step);
    }
    const wake = (Math.max(step, lastStep) + 1) * 30 + 0.5 - now;
    await new Promise((done) => setTimeout(done, wake * 1000));
  }
}

// Helpers: the browser.

async function newPage() {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("console", (message) => {
    const text = message.text();
    if (/Content.Security.Policy|Refused to/i.test(text)) cspViolations.push(text);
  });
  page.on("pageerror", (error) => scriptErrors.push(String(error)));
  await page.goto(`${base}/ui/`);
  await page.getByRole("heading", { name: "Sign in to keymint" }).waitFor();
  return page;
}

/** Signs in with the keyboard alone: type, Tab, type, Enter. */
async function signIn(page, user) {
  await page.getByLabel("Email").focus();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type(user.email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(user.password);
  await page.keyboard.press("Enter");
}

/** A screenshot for a person to look at, when E2E_ARTIFACTS asks for them. */
async function snap(page, name) {
  if (ARTIFACTS) await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

async function token(clientId, clientSecret) {
  const basic = Buffer.from(`${clientId}:${clientSecret}`).toString("base64");
  const response = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: {
      Authorization: `Basic ${basic}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: "grant_type=client_credentials",
  });
  return { status: response.status, body: await response.json() };
}

before(async () => {
  const port = await freePort();
  env = keymintEnv(port);
  base = `http://127.0.0.1:${port}`;

  const account = cli(env, ["account", "create", "--name", "Acme Partner", "--partner"]);
  for (const [user, role] of [
    [OWNER, "owner"],
    [MEMBER, "member"],
  ]) {
    const args = ["user", "create", "--account", account.id, "--email", user.email];
    cli(env, [...args, "--role", role, "--password-stdin"], user.password);
  }

  server = spawn(BIN, ["serve"], { env, stdio: ["ignore", "inherit", "inherit"] });
  await waitUntilReady(`${base}/readyz`);

  context = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 760 },
  });
  context.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(`${base}/`) && !url.startsWith("data:")) offOrigin.push(url);
  });
});

after(async () => {
  await context?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((done) => server.once("exit", done));
    server.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test("a member sees that only owners manage API keys", async () => {
  const page = await newPage();

  await signIn(page, MEMBER);

  await page.getByText("Only owners of this account can manage API keys").waitFor();
  assert.match(await page.locator("#members-only").innerText(), /ask your account's admin/i);
  assert.equal(await page.getByRole("button", { name: "Create API key" }).count(), 0);
  await page.close();
});

test("wrong credentials are explained in words", async () => {
  const page = await newPage();

  await signIn(page, { email: OWNER.email, password: "not the password" });

  const alert = page.getByRole("alert");
  await alert.filter({ hasText: "not correct" }).waitFor();
  assert.equal(
    await alert.innerText(),
    "The email, password or code is not correct. Check them and try again.",
  );
  await page.close();
});

// The owner's path, one browser tab from start to end.
let page;
let totpSecret;

test("an owner without MFA sees the create button disabled, with the reason", async () => {
  page = await newPage();

  await signIn(page, OWNER);

  const blocked = page.locator("#create-blocked");
  await blocked.waitFor();
  assert.ok(await page.getByRole("button", { name: "Create API key" }).isDisabled());
  assert.match(await blocked.innerText(), /signed in with a password only/);
  await snap(page, "create-blocked");
  assert.ok(await blocked.getByRole("link", { name: "Set up MFA" }).isVisible());
  assert.equal(
    await page.getByRole("link", { name: "API docs" }).first().getAttribute("href"),
    "/docs",
  );
});

test("the owner sets up MFA from a QR code drawn in the page", async () => {
  await page.locator("#create-blocked").getByRole("link", { name: "Set up MFA" }).click();
  await page.getByRole("button", { name: "Start MFA setup" }).click();

  const secret = page.locator("#mfa-secret");
  await secret.waitFor();
  totpSecret = (await secret.innerText()).replace(/\s/g, "");
  assert.match(totpSecret, /^[A-Z2-7]{16,}$/);
  const qr = page.getByRole("img", { name: /QR code/ });
  assert.match(await qr.getAttribute("src"), /^data:image\/gif;base64,/);
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 20));

  await snap(page, "mfa-setup");
  await page.getByLabel("Then enter the code the app shows").fill(await nextCode(totpSecret));
  await page.getByRole("button", { name: "Turn on MFA" }).click();

  await page.getByText("MFA is on.").waitFor();
  assert.match(await page.locator("#mfa-done").innerText(), /Sign in again with a code/);
  assert.equal(await page.locator("#mfa-secret").innerText(), "");
});

test("the owner signs in again with a code and creates a key, shown once", async () => {
  await page.getByRole("button", { name: "Sign out and sign in again" }).click();
  await page.getByLabel("6-digit code from your authenticator app").waitFor();
  assert.equal(await page.getByLabel("Email").inputValue(), OWNER.email);
  await page.getByLabel("Password").fill(OWNER.password);
  await page.getByLabel("6-digit code from your authenticator app").fill(await nextCode(totpSecret));
  await page.getByRole("button", { name: "Sign in" }).click();

  const create = page.getByRole("button", { name: "Create API key", disabled: false });
  await create.waitFor();
  assert.ok(await page.locator("#create-blocked").isHidden());

  // The dialog, with the keyboard alone.
  await create.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Create API key" });
  await dialog.waitFor();
  assert.ok(await dialog.getByLabel("Account Management").isVisible(), "a partner account");
  await page.keyboard.type("reporting job");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Space");
  assert.ok(await dialog.getByLabel("Reporting API").isChecked());
  assert.ok(!(await dialog.getByLabel("Configuration API").isChecked()));
  await snap(page, "create-dialog");
  await dialog.getByLabel("Name").press("Enter");

  const shown = page.getByRole("dialog", { name: "API key created" });
  await shown.waitFor();
  assert.match(await shown.innerText(), /it will not be shown again/);
  const clientId = await shown.getByLabel("Client ID").inputValue();
  const clientSecret = await shown.getByLabel("Client secret").inputValue();
  assert.match(clientId, /^[A-Za-z0-9_-]+$/);
  assert.ok(clientSecret.length >= 43, "256 bits of secret");
  await shown.getByRole("button", { name: "Copy secret" }).click();
  await shown.getByText(/Copied the secret|select the secret/).waitFor();
  await snap(page, "secret-dialog");
  await page.keyboard.press("Escape");
  assert.ok(await shown.isVisible(), "Escape must not throw the secret away");

  const granted = await token(clientId, clientSecret);
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  assert.equal(granted.body.scope, "reporting");

  await shown.getByRole("button", { name: "I have saved the secret" }).click();
  await shown.waitFor({ state: "hidden" });
  const row = page.locator("tr", { hasText: clientId });
  assert.match(await row.innerText(), /reporting job[\s\S]*Reporting API[\s\S]*by you[\s\S]*Active/);
  assert.ok(!(await page.content()).includes(clientSecret));
  await page.screenshot({ path: join(dir, "api-keys.png") });
  if (process.env.UPDATE_SCREENSHOTS === "1") {
    copyFileSync(join(dir, "api-keys.png"), join(here, "screenshots", "api-keys.png"));
  }

  // A reload forgets the session, and the secret is gone for good.
  await page.reload();
  await page.getByRole("heading", { name: "Sign in to keymint" }).waitFor();
  assert.ok(!(await page.content()).includes(clientSecret));
  await signIn(page, OWNER);
  await page.getByText("Enter the 6-digit code from your authenticator app").waitFor();
  await snap(page, "sign-in-code");
  await page.getByLabel("6-digit code from your authenticator app").fill(await nextCode(totpSecret));
  await page.getByLabel("6-digit code from your authenticator app").press("Enter");
  await row.waitFor();
  assert.ok(!(await page.content()).includes(clientSecret));
  assert.equal(await page.locator("#new-client-secret").inputValue(), "");

  // Revocation, confirmed in a dialog that names the key.
  await row.getByRole("button", { name: "Revoke reporting job" }).click();
  const confirm = page.getByRole("dialog", { name: "Revoke API key?" });
  await confirm.waitFor();
  assert.equal(await confirm.locator("#revoke-name").innerText(), "reporting job");
  await snap(page, "revoke-dialog");
  await confirm.getByRole("button", { name: "Revoke key" }).click();
  await page.getByText("Revoked “reporting job”").waitFor();
  await row.getByText(/^Revoked/).waitFor();
  assert.equal(await row.getByRole("button", { name: /Revoke/ }).count(), 0);

  const refused = await token(clientId, clientSecret);
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error, "invalid_client");
});

test("the page reads at phone width and keeps nothing in browser storage", async () => {
  await page.setViewportSize({ width: 375, height: 740 });

  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  const stored = await page.evaluate(() => [
    localStorage.length,
    sessionStorage.length,
    document.cookie,
  ]);

  assert.ok(overflow <= 0, `${overflow}px wider than a phone`);
  assert.deepEqual(stored, [0, 0, ""]);
  assert.deepEqual(await context.cookies(), []);
  await page.screenshot({ path: join(dir, "api-keys-phone.png"), fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === "1") {
    copyFileSync(join(dir, "api-keys-phone.png"), join(here, "screenshots", "api-keys-phone.png"));
  }
});

test("an owner signs in with an SSO ID token and may create keys, without partner access", async () => {
  const account = cli(env, ["account", "create", "--name", "Acme SSO"]);
  const email = "sso-owner@acme.example";
  cli(env, ["user", "create", "--account", account.id, "--email", email, "--role", "owner"]);
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "idp-1", alg: "ES256", use: "sig" };
  const jwksFile = join(dir, "idp-jwks.json");
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const issuer = "https://idp.acme.example";
  cli(env, [
    ...["account", "sso", "--account", account.id, "--issuer", issuer],
    ...["--audience", "keymint-admin", "--jwks-file", jwksFile],
  ]);
  const now = Math.floor(Date.now() / 1000);
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const claims = { iss: issuer, aud: "keymint-admin", iat: now, exp: now + 300, email };
  const signed = `${part({ alg: "ES256", typ: "JWT", kid: "idp-1" })}.${part(claims)}`;
  const signature = sign("sha256", Buffer.from(signed), { key: privateKey, dsaEncoding: "ieee-p1363" });
  const sso = await newPage();

  await sso.getByRole("link", { name: /single sign-on/ }).click();
  await sso.getByLabel("ID token").fill("eyJ.not-a-token");
  await sso.getByRole("button", { name: "Sign in" }).click();
  await sso.getByRole("alert").filter({ hasText: "could not accept that ID token" }).waitFor();
  await sso.getByLabel("ID token").fill(`${signed}.${signature.toString("base64url")}`);
  await sso.getByRole("button", { name: "Sign in" }).click();

  const create = sso.getByRole("button", { name: "Create API key", disabled: false });
  await create.waitFor();
  assert.ok(await sso.locator("#create-blocked").isHidden());
  assert.match(await sso.locator("#who").innerText(), /sso-owner@acme\.example \(owner\)/);
  await create.click();
  const dialog = sso.getByRole("dialog", { name: "Create API key" });
  await dialog.waitFor();
  assert.equal(await dialog.getByLabel("Account Management").count(), 1);
  assert.ok(!(await dialog.getByLabel("Account Management").isVisible()), "a regular account");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "hidden" });
  await sso.close();
});

test("the API docs at /docs render every operation from the binary alone", async () => {
  const docs = await newPage();

  await docs.goto(`${base}/docs`);

  const operations = docs.locator(".opblock");
  await operations.first().waitFor({ timeout: STEP_TIMEOUT });
  await docs.getByText("/oauth/token", { exact: true }).first().waitFor();
  assert.ok((await operations.count()) >= 15, `${await operations.count()} operations`);
  assert.ok(await docs.getByText("/admin/v1/clients", { exact: true }).first().isVisible());
  await docs.close();
});

test("no page asked another origin, broke the CSP or threw", () => {
  assert.deepEqual(offOrigin, []);
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(scriptErrors, []);
});
