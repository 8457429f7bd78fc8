// The admin page in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
// it opens the address `ccmux admin url` prints, shows the seeded account, refreshes it (one
// refresh at the stub), signs in a second account by pasted code, signs it out, and shows a
// proxied request in the live log — with no console error, no request off ccmux's origin and no
// secret in the page. Skipped, with the reason, when no Chromium is installed.
// UPDATE_SCREENSHOT=1 writes docs/admin.png (1280×800).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import process from "node:process";
import { baseEnv, ROOT, runCli, tempHome } from "./helpers/cli.ts";
import { startCcmux, type TestCcmux } from "./helpers/ccmux_server.ts";
import { type AuthzStub, startAuthzStub } from "./helpers/authz_stub.ts";
import { type OAuthStub, startOAuthStub } from "./helpers/oauth_stub.ts";
import { startUpstreamStub, type UpstreamStub } from "./helpers/upstream_stub.ts";
import { record } from "./helpers/token_files.ts";

const CHROMIUM = [
  process.env.CHROMIUM_PATH,
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
].find((p) => p && existsSync(p));

const ADMIN_TOKEN = randomBytes(32).toString("base64url");
const UPSTREAM_KEY = `sk-upstream-${randomBytes(8).toString("hex")}`;

describe("admin page in Chromium", { skip: CHROMIUM ? false : "no chromium installed" }, () => {
  let authz: AuthzStub;
  let refresher: OAuthStub;
  let upstream: UpstreamStub;
  let ccmux: TestCcmux;
  let home: { dir: string; cleanup: () => void };
  // deno-lint-ignore no-explicit-any
  let browser: any;
  let seededRt: string;
  let seededAt: string;

  before(async () => {
    authz = await startAuthzStub();
    refresher = await startOAuthStub();
    upstream = await startUpstreamStub();
    home = tempHome();
    seededRt = refresher.seed();
    const seeded = record("seeded", seededRt, 3600, { account: { email: "me@example.com" } });
    seededAt = seeded.access_token;
    const file = join(home.dir, "oauth_tokens.json");
    writeFileSync(file, JSON.stringify({ seeded }));
    chmodSync(file, 0o600);
    const toml = `[admin]\nenabled = true\ntoken = "$CCMUX_ADMIN_TOKEN"\n` +
      `[[providers]]\nname = "up"\nprovider_type = "anthropic"\nauth_type = "apikey"\n` +
      `api_key = "${UPSTREAM_KEY}"\nbase_url = "${upstream.url}"\n` +
      `[oauth.seeded]\nkind = "anthropic"\ntoken_url = "${refresher.tokenUrl}"\n` +
      `[oauth.fresh]\nkind = "anthropic"\nclient_id = "test-client"\n` +
      `authorize_url = "${authz.authorizeUrl}"\ntoken_url = "${authz.tokenUrl}"\n` +
      `paste_redirect_uri = "${authz.pasteUrl}"\n`;
    writeFileSync(join(home.dir, "config.toml"), toml);
    ccmux = await startCcmux(toml, {
      env: { CCMUX_HOME: home.dir, CCMUX_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
  });

  after(async () => {
    await browser?.close();
    await ccmux?.close();
    await authz?.close();
    await refresher?.close();
    await upstream?.close();
    home?.cleanup();
  });

  test("sign in, refresh, sign out and watch the log; no error, no foreign request, no secret", async () => {
    const cli = await runCli(["admin", "url", "--port", String(ccmux.port)], {
      env: { ...baseEnv(home.dir), CCMUX_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    assert.equal(cli.code, 0, cli.stderr);
    const adminUrl = cli.stdout.trim();
    assert.equal(adminUrl, `http://127.0.0.1:${ccmux.port}/admin#token=${ADMIN_TOKEN}`);

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    // A sign-in tab the page opens goes to the authorization server: not the page's traffic.
    page.on("popup", (p: { close(): Promise<void> }) => void p.close().catch(() => {}));
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on("console", (m: { type(): string; text(): string }) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e: Error) => problems.push(e.message));
    page.on("request", (r: { url(): string }) => {
      if (new URL(r.url()).origin !== ccmux.url) foreign.push(r.url());
    });

    await page.goto(adminUrl);
    // The token left the address bar.
    assert.equal(page.url(), `${ccmux.url}/admin`);
    const seededRow = page.locator("#accounts tr").filter({
      has: page.locator("td:first-child", { hasText: /^seeded$/ }),
    });
    await seededRow.waitFor();
    assert.match(await seededRow.innerText(), /me@example\.com/);
    assert.match(await seededRow.innerText(), /in (59m|1h)/);

    // Refresh: one refresh at the stub.
    await seededRow.getByRole("button", { name: "Refresh" }).click();
    await page.locator("#status", { hasText: "Refreshed seeded." }).waitFor();
    assert.equal(refresher.refreshCount, 1);

    // Sign in a second account by pasting the code the sign-in page shows.
    await page.fill("#account", "fresh");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#pastebox").waitFor({ state: "visible" });
    const pasteUrl = await page.getAttribute("#authlink", "href");
    const to = await fetch(pasteUrl!, { redirect: "manual" });
    await to.body?.cancel();
    const code = (await (await fetch(to.headers.get("location")!)).text()).trim();
    await page.fill("#code", code);
    await page.getByRole("button", { name: "Complete sign-in" }).click();
    const freshRow = page.locator("#accounts tr").filter({
      has: page.locator("td:first-child", { hasText: /^fresh$/ }),
    });
    await freshRow.waitFor();
    assert.equal(authz.tokenCalls.at(-1)!.pkceOk, true);

    // A proxied request shows in the live log.
    await page.locator("#live", { hasText: "live" }).waitFor();
    const res = await fetch(`${ccmux.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "client" },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(res.status, 200);
    await res.text();
    const logRow = page.locator("#log tr", { hasText: "/v1/messages" });
    await logRow.waitFor();
    assert.match(await logRow.innerText(), /claude-sonnet-4-5 → up\//);

    if (process.env.UPDATE_SCREENSHOT) {
      await page.screenshot({ path: join(ROOT, "docs", "admin.png") });
    }

    // Sign out of the second account.
    await freshRow.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#status", { hasText: "Signed out of fresh" }).waitFor();
    await freshRow.waitFor({ state: "detached" });

    // A phone-sized window still shows every section.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const id of ["#accounts", "#providers", "#log", "#config"]) {
      assert.ok(await page.locator(id).count(), id);
    }

    const html = await page.content();
    for (
      const s of [
        ADMIN_TOKEN,
        UPSTREAM_KEY,
        seededAt,
        seededRt,
        ...authz.issued,
        ...refresher.issued,
      ]
    ) {
      assert.ok(!html.includes(s), "the page holds a secret");
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, []);
    await context.close();
  });
});
