// `ccmux login` end to end: the CLI as a child process against the stub authorization server;
// the test plays the browser (or the user pasting a code).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { baseEnv, runCli, startCli, tempHome } from "./helpers/cli.ts";
import { type AuthzStub, type AuthzStubOptions, startAuthzStub } from "./helpers/authz_stub.ts";
import { startRedirectStub } from "./helpers/redirect_stub.ts";
import { parsePasted } from "../src/auth/paste_input.ts";
import { loopbackTarget, startCallbackServer } from "../src/auth/callback_server.ts";
import { browserCommand, browserUnavailable } from "../src/runtime/browser.ts";

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A temp home with a config whose [oauth.ID] table points at a fresh stub. */
async function setup(
  id: string,
  kind: string,
  stubOpts: AuthzStubOptions = {},
  extraToml = "",
) {
  const stub = await startAuthzStub(stubOpts);
  const home = tempHome();
  cleanups.push(home.cleanup, () => stub.close());
  const lines = [`[oauth.${id}]`, `kind = "${kind}"`, `client_id = "test-client"`];
  if (kind === "oidc") lines.push(`issuer = "${stub.url}"`);
  else {
    lines.push(`authorize_url = "${stub.authorizeUrl}"`, `token_url = "${stub.tokenUrl}"`);
  }
  if (kind.startsWith("anthropic")) lines.push(`paste_redirect_uri = "${stub.pasteUrl}"`);
  if (kind === "anthropic-console") lines.push(`api_key_url = "${stub.apiKeyUrl}"`);
  if (kind === "openai") lines.push(`issuer = "${stub.url}"`);
  writeFileSync(join(home.dir, "config.toml"), `${lines.join("\n")}\n${extraToml}`);
  return {
    stub,
    home: home.dir,
    env: baseEnv(home.dir),
    tokenFile: join(home.dir, "oauth_tokens.json"),
  };
}

/** A running `ccmux login` with its stderr collected as it arrives. */
interface Run {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Run {
  const child = startCli(["login", ...args], { env });
  let err = "";
  let out = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  void exit.then(() => clearTimeout(timer));
  cleanups.push(() => child.kill("SIGKILL"));
  return { child, stderr: () => err, stdout: () => out, exit };
}

async function until<T>(run: Run, what: string, f: () => T | null | undefined): Promise<T> {
  const deadline = Date.now() + 60_000;
  let exited = false;
  void run.exit.then(() => (exited = true));
  while (Date.now() < deadline) {
    const v = f();
    if (v) return v;
    if (exited) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${what}; stderr so far:\n${run.stderr()}`);
}

/** The authorize URLs printed on stderr, each on its own line. */
function urlsOf(stub: AuthzStub, stderr: string): string[] {
  const re = new RegExp(`^${stub.authorizeUrl.replace(/[.?]/g, "\\$&")}\\?\\S+$`, "gm");
  return stderr.match(re) ?? [];
}

async function waitUrls(run: Run, stub: AuthzStub, n: number): Promise<URL[]> {
  const urls = await until(run, `${n} authorize URL(s)`, () => {
    const u = urlsOf(stub, run.stderr());
    return u.length >= n && /Waiting|paste/i.test(run.stderr()) ? u : null;
  });
  return urls.map((u) => new URL(u));
}

/** Plays the browser at the stub: returns where /authorize redirects. */
async function authorize(url: URL): Promise<URL> {
  const res = await fetch(url, { redirect: "manual" });
  await res.body?.cancel();
  assert.equal(res.status, 302, `authorize answered ${res.status}`);
  return new URL(res.headers.get("location")!);
}

/** Follows a redirect to the loopback callback (as a browser would, via 127.0.0.1). */
async function visit(callback: URL): Promise<{ status: number; html: string }> {
  const u = new URL(callback);
  if (u.hostname === "localhost") u.hostname = "127.0.0.1";
  const res = await fetch(u);
  return { status: res.status, html: await res.text() };
}

function portRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

function readTokens(file: string): Record<string, Record<string, unknown>> {
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
}

function assertNoSecrets(run: Run, stub: AuthzStub) {
  for (const t of stub.issued) {
    assert.ok(!run.stderr().includes(t), "an access token was printed");
    assert.ok(!run.stdout().includes(t), "an access token was printed");
  }
  assert.equal(run.stdout(), "");
}

/** A failed sign-in: exit 1, a message, no record, the callback port closed. */
async function assertFailed(run: Run, t: { tokenFile: string }, id: string, re: RegExp) {
  assert.equal(await run.exit, 1, run.stderr());
  assert.match(run.stderr(), re);
  assert.match(run.stderr(), new RegExp(`^ccmux: login ${id} failed: `, "m"));
  assert.equal(readTokens(t.tokenFile)[id], undefined, "something was stored");
}

const ANTHROPIC_EXTRA = {
  account: { uuid: "acc-uuid-1", email_address: "max@example.com" },
  organization: { uuid: "org-1" },
};

describe("ccmux login, loopback mode", () => {
  test("anthropic: browser → callback → JSON code exchange with PKCE → token file", async () => {
    const t = await setup("claude-max", "anthropic", {
      body: "json",
      omitTokenType: true,
      extra: ANTHROPIC_EXTRA,
    });
    // Another account with a field ccmux does not know must survive the sign-in.
    const other = { provider_id: "other", access_token: "x", custom: { keep: true } };
    writeFileSync(t.tokenFile, JSON.stringify({ other }), { mode: 0o600 });

    const run = start(["claude-max", "--no-browser", "--timeout", "120"], t.env);
    const [loop, paste] = await waitUrls(run, t.stub, 2);
    const q = loop.searchParams;
    assert.equal(q.get("code"), "true");
    assert.equal(q.get("code_challenge_method"), "S256");
    assert.equal(q.get("scope"), "org:create_api_key user:profile user:inference");
    assert.notEqual(q.get("state"), q.get("code_challenge"));
    assert.ok((q.get("state") ?? "").length >= 22);
    const redirect = new URL(q.get("redirect_uri")!);
    assert.equal(redirect.hostname, "localhost");
    assert.equal(redirect.pathname, "/callback");
    // The second URL: same PKCE challenge and state, the paste redirect.
    assert.equal(paste.searchParams.get("redirect_uri"), t.stub.pasteUrl);
    assert.equal(paste.searchParams.get("state"), q.get("state"));
    assert.equal(paste.searchParams.get("code_challenge"), q.get("code_challenge"));

    const callback = await authorize(loop);
    const page = await visit(callback);
    assert.equal(page.status, 200);
    assert.match(page.html, /Signed in/);
    assert.doesNotMatch(page.html, /<script/i);
    assert.equal(await run.exit, 0, run.stderr());

    assert.equal(t.stub.tokenCalls.length, 1);
    const call = t.stub.tokenCalls[0];
    assert.ok(call.pkceOk, "the stub could not verify the PKCE verifier");
    assert.match(call.contentType, /^application\/json/);
    assert.deepEqual(Object.keys(call.params), [
      "grant_type",
      "code",
      "redirect_uri",
      "client_id",
      "code_verifier",
      "state",
    ]);
    assert.equal(call.params.state, q.get("state"));
    assert.notEqual(call.params.code_verifier, call.params.state, "state must not be the verifier");
    assert.equal(call.params.redirect_uri, redirect.href);

    const doc = readTokens(t.tokenFile);
    assert.deepEqual(doc.other, other);
    const rec = doc["claude-max"];
    assert.equal(rec.provider_id, "claude-max");
    assert.equal(rec.kind, "anthropic");
    assert.equal(rec.access_token, t.stub.issued[0]);
    assert.match(String(rec.refresh_token), /^rt-/);
    assert.equal(rec.token_type, "bearer");
    assert.deepEqual(rec.scopes, ["org:create_api_key", "user:profile", "user:inference"]);
    assert.equal((rec.account as Record<string, unknown>).email, "max@example.com");
    const ttl = Date.parse(String(rec.expires_at)) - Date.now();
    assert.ok(ttl > 7 * 3600_000 && ttl <= 8 * 3600_000, `expires_at ${rec.expires_at}`);
    assert.match(run.stderr(), /Signed in to 'claude-max' \(anthropic\) as max@example\.com/);
    assert.match(run.stderr(), /Scopes: org:create_api_key user:profile user:inference/);
    assert.match(run.stderr(), /expires \d{4}-\d\d-\d\dT/);
    assertNoSecrets(run, t.stub);
    assert.ok(await portRefused(Number(redirect.port)), "callback port still open");

    const tok = await runCli(["token", "claude-max"], { env: t.env });
    assert.equal(tok.code, 0, tok.stderr);
    assert.equal(tok.stdout, `${t.stub.issued[0]}\n`);
  });

  test("a line on stdin is accepted while the callback server waits", async () => {
    const t = await setup("claude-max", "anthropic", { body: "json", extra: ANTHROPIC_EXTRA });
    const run = start(["--no-browser"], t.env); // the only configured account: ID may be omitted
    const [loop, paste] = await waitUrls(run, t.stub, 2);
    const shown = await authorize(paste);
    assert.equal(shown.origin + shown.pathname, t.stub.pasteUrl);
    run.child.stdin!.write(
      `\n${shown.searchParams.get("code")}#${shown.searchParams.get("state")}\n`,
    );
    assert.equal(await run.exit, 0, run.stderr());
    assert.equal(t.stub.tokenCalls[0].params.redirect_uri, t.stub.pasteUrl);
    assert.ok(t.stub.tokenCalls[0].pkceOk);
    assert.ok(readTokens(t.tokenFile)["claude-max"]);
    const port = Number(new URL(loop.searchParams.get("redirect_uri")!).port);
    assert.ok(await portRefused(port), "callback port still open");
  });

  test("a callback without this sign-in's state is answered 400 and ignored; the sign-in goes on", async () => {
    const t = await setup("claude-max", "anthropic", { body: "json" });
    const run = start(["claude-max", "--no-browser"], t.env);
    const [loop] = await waitUrls(run, t.stub, 1);
    const redirect = new URL(loop.searchParams.get("redirect_uri")!);
    const callback = await authorize(loop);
    // Any local process or web page can reach the port: none of these may end the sign-in.
    const stray = [
      new URL(redirect.href), // no parameters at all
      new URL(`${redirect.href}?code=forged&state=forged-state`),
      new URL(`${redirect.href}?error=access_denied`),
      new URL(`${redirect.href}?error=access_denied&state=forged-state`),
    ];
    for (const u of stray) {
      const page = await visit(u);
      assert.equal(page.status, 400, u.search);
      assert.match(page.html, /does not belong to the sign-in in progress/);
    }
    let exited = false;
    void run.exit.then(() => (exited = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(exited, false, `the login ended: ${run.stderr()}`);
    assert.equal(t.stub.tokenCalls.length, 0, "a stray request reached the token endpoint");
    const page = await visit(callback);
    assert.equal(page.status, 200);
    assert.equal(await run.exit, 0, run.stderr());
    assert.equal(t.stub.tokenCalls.length, 1);
    assert.equal(t.stub.tokenCalls[0].params.code, callback.searchParams.get("code"));
    assert.ok(readTokens(t.tokenFile)["claude-max"]);
    assert.ok(await portRefused(Number(callback.port)));
  });

  test("error=access_denied: exit 1 with the server's error", async () => {
    const t = await setup("claude-max", "anthropic", { deny: true });
    const run = start(["claude-max", "--no-browser"], t.env);
    const [loop] = await waitUrls(run, t.stub, 1);
    const callback = await authorize(loop);
    assert.equal(callback.searchParams.get("error"), "access_denied");
    const page = await visit(callback);
    assert.match(page.html, /access_denied/);
    await assertFailed(run, t, "claude-max", /refused the sign-in: access_denied/);
    assert.equal(t.stub.tokenCalls.length, 0);
    assert.ok(await portRefused(Number(callback.port)));
  });

  test("expired code (token endpoint 400 invalid_grant): exit 1, nothing stored", async () => {
    const t = await setup("claude-max", "anthropic", {
      tokenError: { status: 400, error: "invalid_grant", error_description: "Code expired" },
    });
    const run = start(["claude-max", "--no-browser"], t.env);
    const [loop] = await waitUrls(run, t.stub, 1);
    const callback = await authorize(loop);
    const page = await visit(callback);
    assert.equal(page.status, 400);
    assert.match(page.html, /invalid_grant/);
    await assertFailed(run, t, "claude-max", /HTTP 400: invalid_grant \(Code expired\)/);
    assert.equal(t.stub.tokenCalls.length, 1);
    assert.ok(await portRefused(Number(callback.port)));
  });

  test("--timeout 1: exit 1, nothing stored, port closed", async () => {
    const t = await setup("claude-max", "anthropic");
    const run = start(["claude-max", "--no-browser", "--timeout", "1"], t.env);
    const [loop] = await waitUrls(run, t.stub, 1);
    await assertFailed(run, t, "claude-max", /timed out after 1 s/);
    const port = Number(new URL(loop.searchParams.get("redirect_uri")!).port);
    assert.ok(await portRefused(port));
    assert.equal(t.stub.tokenCalls.length, 0);
  });

  test("oidc: discovery, form body, RS256 id_token checked, email stored", async () => {
    const t = await setup("corp", "oidc", {
      body: "form",
      idToken: { email: "dev@corp.example" },
    });
    const run = start(["corp", "--no-browser"], t.env);
    const [loop] = await waitUrls(run, t.stub, 1);
    assert.equal(loop.searchParams.get("scope"), "openid offline_access");
    assert.equal(loop.searchParams.get("code"), null);
    const page = await visit(await authorize(loop));
    assert.equal(page.status, 200);
    assert.equal(await run.exit, 0, run.stderr());
    const call = t.stub.tokenCalls[0];
    assert.match(call.contentType, /^application\/x-www-form-urlencoded/);
    assert.ok(call.pkceOk);
    assert.equal(call.params.client_id, "test-client");
    assert.equal(call.params.state, undefined);
    const rec = readTokens(t.tokenFile).corp;
    assert.equal(rec.kind, "oidc");
    assert.equal((rec.account as Record<string, unknown>).email, "dev@corp.example");
    assert.match(run.stderr(), /as dev@corp\.example/);
    assertNoSecrets(run, t.stub);
  });

  test("oidc: an id_token for another audience is rejected", async () => {
    const t = await setup("corp", "oidc", { idToken: { aud: "someone-else" } });
    const run = start(["corp", "--no-browser"], t.env);
    const [loop] = await waitUrls(run, t.stub, 1);
    await visit(await authorize(loop));
    await assertFailed(run, t, "corp", /"aud"/);
  });

  test("openai: fixed-port redirect override, form body, account id from the id_token", async () => {
    const port = await freePort();
    const t = await setup("openai", "openai", {
      body: "form",
      idToken: { "https://api.openai.com/auth": { chatgpt_account_id: "acct-42" } },
    }, `redirect_uri = "http://localhost:${port}/auth/callback"\n`);
    const run = start(["openai", "--no-browser"], t.env);
    const [loop] = await waitUrls(run, t.stub, 1);
    const q = loop.searchParams;
    assert.equal(q.get("redirect_uri"), `http://localhost:${port}/auth/callback`);
    // ccmux names no other client: the authorize request carries no `originator`.
    assert.equal(q.get("originator"), null);
    assert.equal(q.get("id_token_add_organizations"), "true");
    assert.equal(q.get("scope"), "openid profile email offline_access");
    await visit(await authorize(loop));
    assert.equal(await run.exit, 0, run.stderr());
    assert.match(t.stub.tokenCalls[0].contentType, /^application\/x-www-form-urlencoded/);
    const rec = readTokens(t.tokenFile).openai;
    assert.equal(rec.account_id, "acct-42");
    assert.equal(typeof rec.id_token, "string");
    assert.ok(await portRefused(port));
  });

  test("anthropic-console: creates and stores an API key, never prints it", async () => {
    const t = await setup("console", "anthropic-console", {
      body: "json",
      apiKey: "sk-ant-api03-created-by-stub",
      extra: ANTHROPIC_EXTRA,
    });
    const run = start(["console", "--no-browser"], t.env);
    const [loop] = await waitUrls(run, t.stub, 2);
    await visit(await authorize(loop));
    assert.equal(await run.exit, 0, run.stderr());
    assert.deepEqual(t.stub.apiKeyCalls, [{ authorization: `Bearer ${t.stub.issued[0]}` }]);
    const rec = readTokens(t.tokenFile).console;
    assert.equal(rec.api_key, "sk-ant-api03-created-by-stub");
    assert.equal(rec.kind, "anthropic-console");
    assert.ok(!run.stderr().includes("sk-ant-api03-created-by-stub"));
    assert.match(run.stderr(), /API key was created/);
  });
});

describe("ccmux login: the browser opener", () => {
  test("xdg-open gets a minimal environment: display and session, no API keys or CCMUX_*", {
    skip: process.platform === "darwin" || process.platform === "win32"
      ? "xdg-open is the Linux/BSD opener"
      : false,
  }, async () => {
    const t = await setup("claude-max", "anthropic", { body: "json" });
    // A fake xdg-open first on PATH that records the environment it was started with (in its
    // own folder: a path passed in a variable could itself be filtered out).
    const bin = join(t.home, "bin");
    mkdirSync(bin);
    const script = join(bin, "xdg-open");
    writeFileSync(
      script,
      '#!/bin/sh\nenv > "$(dirname "$0")/env.tmp" && mv "$(dirname "$0")/env.tmp" ' +
        '"$(dirname "$0")/env.txt"\n',
    );
    chmodSync(script, 0o755);
    const env = {
      ...t.env,
      PATH: `${bin}:${t.env.PATH}`,
      DISPLAY: ":99",
      XDG_RUNTIME_DIR: "/run/user/4242",
      DBUS_SESSION_BUS_ADDRESS: "unix:path=/run/user/4242/bus",
      BROWSER: "firefox",
      ANTHROPIC_API_KEY: "sk-ant-api03-must-not-leak",
      ANTHROPIC_AUTH_TOKEN: "must-not-leak-2",
      OPENAI_API_KEY: "sk-must-not-leak-3",
      CCMUX_API_KEY: "must-not-leak-4",
      AWS_SECRET_ACCESS_KEY: "must-not-leak-5",
    };
    const run = start(["claude-max", "--timeout", "60"], env);
    await waitUrls(run, t.stub, 1);
    const file = join(bin, "env.txt");
    const recorded = await until(
      run,
      "a run of the fake xdg-open",
      () => existsSync(file) ? readFileSync(file, "utf8") : null,
    );
    run.child.kill("SIGTERM");
    const vars = new Map(
      recorded.split("\n").filter((l) => l.includes("=")).map((l) => {
        const i = l.indexOf("=");
        return [l.slice(0, i), l.slice(i + 1)] as [string, string];
      }),
    );
    assert.equal(vars.get("DISPLAY"), ":99");
    assert.equal(vars.get("XDG_RUNTIME_DIR"), "/run/user/4242");
    assert.equal(vars.get("DBUS_SESSION_BUS_ADDRESS"), "unix:path=/run/user/4242/bus");
    assert.equal(vars.get("BROWSER"), "firefox");
    assert.equal(vars.get("HOME"), t.home);
    assert.ok(vars.get("PATH")?.startsWith(bin), "PATH kept");
    for (const name of vars.keys()) {
      assert.doesNotMatch(name, /^(ANTHROPIC_|OPENAI_|CCMUX_|AWS_)/, `${name} reached xdg-open`);
    }
    assert.ok(!recorded.includes("must-not-leak"), "a secret reached xdg-open");
  });
});

describe("ccmux login: endpoints that redirect", () => {
  /** Points one endpoint key of the account's table at a server that answers 307. */
  async function redirecting(t: { home: string }, key: string) {
    const r = await startRedirectStub();
    cleanups.push(() => r.close());
    const file = join(t.home, "config.toml");
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace(new RegExp(`^${key} = .*$`, "m"), `${key} = "${r.url}/x"`));
    return r;
  }

  test("token endpoint answers 307: exit 1, the code is not re-sent, nothing stored", async () => {
    const t = await setup("claude-max", "anthropic", { body: "json" });
    const r = await redirecting(t, "token_url");
    const run = start(["claude-max", "--no-browser"], t.env);
    const [loop] = await waitUrls(run, t.stub, 1);
    const page = await visit(await authorize(loop));
    assert.equal(page.status, 400);
    await assertFailed(
      run,
      t,
      "claude-max",
      /HTTP 307 \(a redirect to [^)]+\)[^\n]*does not follow/,
    );
    assert.equal(r.redirected.length, 1);
    assert.deepEqual(r.targetRequests, []);
  });

  test("anthropic-console: create_api_key answers 307: exit 1, the bearer token is not re-sent", async () => {
    const t = await setup("console", "anthropic-console", { body: "json", extra: ANTHROPIC_EXTRA });
    const r = await redirecting(t, "api_key_url");
    const run = start(["console", "--no-browser"], t.env);
    const [loop] = await waitUrls(run, t.stub, 2);
    await visit(await authorize(loop));
    await assertFailed(run, t, "console", /API key failed: [^\n]*HTTP 307 \(a redirect to [^)]+\)/);
    assert.equal(r.redirected.length, 1);
    assert.deepEqual(r.targetRequests, []);
    assertNoSecrets(run, t.stub);
  });
});

describe("ccmux login --paste", () => {
  test("CODE#STATE from the paste page", async () => {
    const t = await setup("claude-max", "anthropic", { body: "json" });
    const run = start(["claude-max", "--paste"], t.env);
    const urls = await waitUrls(run, t.stub, 1);
    assert.equal(urlsOf(t.stub, run.stderr()).length, 1, "paste mode prints one URL");
    assert.equal(urls[0].searchParams.get("redirect_uri"), t.stub.pasteUrl);
    const shown = await fetch(await authorize(urls[0])).then((r) => r.text());
    assert.match(shown, /^code-\w+#\S+$/);
    run.child.stdin!.end(`${shown}\n`);
    assert.equal(await run.exit, 0, run.stderr());
    assert.ok(t.stub.tokenCalls[0].pkceOk);
    assert.equal(t.stub.tokenCalls[0].params.redirect_uri, t.stub.pasteUrl);
    assert.ok(readTokens(t.tokenFile)["claude-max"]);
  });

  test("a full callback URL (openai: redirect to an unreachable loopback port)", async () => {
    const t = await setup("openai", "openai", { body: "form" });
    const run = start(["openai", "--paste"], t.env);
    const [url] = await waitUrls(run, t.stub, 1);
    assert.equal(url.searchParams.get("redirect_uri"), "http://localhost:1455/auth/callback");
    const landed = await authorize(url); // the browser would fail to load this page
    run.child.stdin!.end(`${landed.href}\n`);
    assert.equal(await run.exit, 0, run.stderr());
    assert.equal(t.stub.tokenCalls[0].params.redirect_uri, "http://localhost:1455/auth/callback");
    assert.ok(t.stub.tokenCalls[0].pkceOk);
    assert.ok(readTokens(t.tokenFile).openai);
  });

  test("a pasted code with the wrong state is refused before the token endpoint", async () => {
    const t = await setup("claude-max", "anthropic");
    const run = start(["claude-max", "--paste"], t.env);
    const [url] = await waitUrls(run, t.stub, 1);
    const landed = await authorize(url);
    run.child.stdin!.end(`${landed.searchParams.get("code")}#not-the-state\n`);
    await assertFailed(run, t, "claude-max", /state mismatch/);
    assert.equal(t.stub.tokenCalls.length, 0);
  });

  test("a pasted error=access_denied without a state reports the refusal, stores nothing", async () => {
    const t = await setup("openai", "openai", { body: "form" });
    const run = start(["openai", "--paste"], t.env);
    await waitUrls(run, t.stub, 1);
    run.child.stdin!.end("http://localhost:1455/auth/callback?error=access_denied\n");
    await assertFailed(run, t, "openai", /refused the sign-in: access_denied/);
    assert.doesNotMatch(run.stderr(), /state mismatch/);
    assert.equal(t.stub.tokenCalls.length, 0);
  });

  test("a pasted callback URL on a foreign host is refused before the token endpoint", async () => {
    const t = await setup("openai", "openai", { body: "form" });
    const run = start(["openai", "--paste"], t.env);
    const [url] = await waitUrls(run, t.stub, 1);
    const landed = await authorize(url);
    const evil = new URL("https://evil.example/cb");
    evil.search = landed.search; // the right code and state
    run.child.stdin!.end(`${evil.href}\n`);
    await assertFailed(
      run,
      t,
      "openai",
      /https:\/\/evil\.example\/cb\) is not a redirect this sign-in sent/,
    );
    assert.equal(t.stub.tokenCalls.length, 0);
    assert.ok(!run.stderr().includes(landed.searchParams.get("code")!), "the code was printed");
  });

  test("stdin closed without a code: exit 1", async () => {
    const t = await setup("claude-max", "anthropic");
    const run = start(["claude-max", "--paste"], t.env);
    await waitUrls(run, t.stub, 1);
    run.child.stdin!.end();
    await assertFailed(run, t, "claude-max", /no code was pasted/);
  });
});

describe("ccmux login usage", () => {
  test("ID omitted with two configured accounts lists them (exit 2)", async () => {
    const home = tempHome();
    cleanups.push(home.cleanup);
    writeFileSync(
      join(home.dir, "config.toml"),
      `[oauth.a]\nkind = "anthropic"\n[oauth.b]\nkind = "openai"\n`,
    );
    const r = await runCli(["login"], { env: baseEnv(home.dir) });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the config names a, b/);
  });

  test("bad --timeout and an account with no known kind are usage errors (exit 2, one line)", async () => {
    const home = tempHome();
    cleanups.push(home.cleanup);
    for (const args of [["login", "x", "--timeout", "soon"], ["login", "x", "--timeout", "-1"]]) {
      const r = await runCli(args, { env: baseEnv(home.dir) });
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /^ccmux: [^\n]*--timeout[^\n]*\nRun 'ccmux login --help' for usage\.\n$/,
      );
    }
    const r2 = await runCli(["login", "mystery"], { env: baseEnv(home.dir) });
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /^ccmux: no OAuth kind is known for account 'mystery'/);
  });

  test("an unparseable token file fails before the sign-in and is left as it is", async () => {
    const t = await setup("claude-max", "anthropic");
    writeFileSync(t.tokenFile, "{not json", { mode: 0o600 });
    const r = await runCli(["login", "claude-max", "--no-browser"], { env: t.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /oauth_tokens\.json/);
    assert.equal(urlsOf(t.stub, r.stderr).length, 0, "sign-in started anyway");
    assert.equal(readFileSync(t.tokenFile, "utf8"), "{not json");
  });

  test("an http:// endpoint on a non-loopback host is refused", async () => {
    const home = tempHome();
    cleanups.push(home.cleanup);
    writeFileSync(
      join(home.dir, "config.toml"),
      `[oauth.x]\nkind = "anthropic"\ntoken_url = "http://auth.example.com/token"\n`,
    );
    const r = await runCli(["login", "x", "--no-browser"], { env: baseEnv(home.dir) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /must be https:\/\//);
  });
});

/**
 * A port that is free now, for tests that must name a fixed port before ccmux binds it. Taken
 * below Linux's ephemeral range (32768+) so that the port-0 servers and outgoing connections
 * of tests running at the same time cannot grab it in between.
 */
async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  for (;;) {
    const candidate = 20000 + Math.floor(Math.random() * 10000);
    const s = createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once("error", () => r(false));
      s.listen(candidate, "127.0.0.1", () => r(true));
    });
    if (!ok) continue;
    await new Promise<void>((r) => s.close(() => r()));
    return candidate;
  }
}

describe("login building blocks (in-process)", () => {
  test("parsePasted: CODE#STATE, a callback URL, and what is refused", () => {
    const a = parsePasted("  abc#xyz \n", "https://paste.example/cb");
    assert.equal(a.params.get("code"), "abc");
    assert.equal(a.params.get("state"), "xyz");
    assert.equal(a.redirectUri, "https://paste.example/cb");
    const b = parsePasted("http://localhost:1455/auth/callback?code=c1&state=s1", "unused");
    assert.equal(b.params.get("code"), "c1");
    assert.equal(b.redirectUri, "http://localhost:1455/auth/callback");
    assert.throws(() => parsePasted("just-a-code", "x"), /paste the whole CODE#STATE/);
    assert.throws(() => parsePasted("https://x.example/cb?foo=1", "x"), /no code= or error=/);
  });

  test("browser: not opened over SSH or without a display; per-platform command", () => {
    assert.match(browserUnavailable({ SSH_CONNECTION: "1 2 3 4", DISPLAY: ":0" }, "linux")!, /SSH/);
    assert.match(browserUnavailable({ SSH_TTY: "/dev/pts/1" }, "darwin")!, /SSH/);
    assert.match(browserUnavailable({}, "linux")!, /no display/);
    assert.equal(browserUnavailable({ WAYLAND_DISPLAY: "wayland-0" }, "linux"), undefined);
    assert.equal(browserUnavailable({}, "darwin"), undefined);
    assert.equal(browserUnavailable({}, "win32"), undefined);
    assert.deepEqual(browserCommand("http://a/?x=1&y=2", "linux").cmd, "xdg-open");
    assert.deepEqual(browserCommand("http://a/", "darwin").args, ["http://a/"]);
    assert.deepEqual(
      browserCommand("http://a/?x=1&y=2", "win32").args.at(-1),
      "http://a/?x=1^&y=2",
    );
  });

  test("callback server: falls back to the next fixed port, one-shot, escaped page", async () => {
    const { createServer } = await import("node:net");
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    const busyPort = (busy.address() as { port: number }).port;
    const free = await freePort();
    try {
      const target = loopbackTarget("http://localhost:PORT/auth/callback", [busyPort, free]);
      const server = await startCallbackServer(target, "s");
      assert.equal(server.port, free);
      assert.equal(server.redirectUri, `http://localhost:${free}/auth/callback`);
      const other = await fetch(`http://127.0.0.1:${free}/favicon.ico`);
      assert.equal(other.status, 404);
      await other.body?.cancel();
      const wrong = await fetch(`http://127.0.0.1:${free}/auth/callback?code=c&state=x`);
      assert.equal(wrong.status, 400);
      await wrong.body?.cancel();
      const first = fetch(`http://127.0.0.1:${free}/auth/callback?code=c&state=s`);
      const cb = await server.callback;
      assert.equal(cb.params.get("code"), "c");
      const second = await fetch(`http://127.0.0.1:${free}/auth/callback?code=d&state=s`);
      assert.equal(second.status, 409);
      await second.body?.cancel();
      await cb.reply(false, `<script>alert(1)</script> & "x"`);
      const res = await first;
      const html = await res.text();
      assert.equal(res.status, 400);
      assert.doesNotMatch(html, /<script/);
      assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62; &#38; &#34;x&#34;/);
      await server.close();
      assert.ok(await portRefused(free));
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });

  test("loopbackTarget: a literal port is used; a non-loopback redirect needs --paste", () => {
    assert.deepEqual(loopbackTarget("http://127.0.0.1:8765/cb", [1455]).ports, [8765]);
    assert.deepEqual(loopbackTarget("http://localhost:PORT/callback", []).ports, [0]);
    assert.throws(() => loopbackTarget("https://example.com/cb", []), /use --paste/);
  });
});
