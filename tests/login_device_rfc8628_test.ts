// `ccmux login ID --device` for kind github-copilot (GitHub's device flow: errors answered with
// HTTP 200) and kind oidc (a standards server: discovery, errors as HTTP 400). The CLI runs as a
// child process against stub servers that record each poll's arrival, so the interval is
// measured; slow_down schedules run in-process on an injected clock.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, runCli, tempHome } from "./helpers/cli.ts";
import {
  type DeviceServer,
  type DeviceServerOptions,
  startDeviceServer,
} from "./helpers/device_stub.ts";
import type { Clock } from "../src/auth/device.ts";
import { deviceKinds, deviceLogin } from "../src/auth/device_login.ts";
import { resolveOAuth } from "../src/auth/kinds.ts";
import { loadConfig } from "../src/config/mod.ts";
import { testConfig } from "./helpers/ccmux_server.ts";

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const CLIENT = "Ov23test-client";

async function setup(opts: DeviceServerOptions, id = "gh", extra: string[] = []) {
  const stub = await startDeviceServer({ clientId: CLIENT, ...opts });
  const home = tempHome();
  cleanups.push(home.cleanup, () => stub.close());
  const lines = opts.flavour === "github"
    ? [
      `[oauth.${id}]`,
      `kind = "github-copilot"`,
      `client_id = "${CLIENT}"`,
      `device_authorization_url = "${stub.deviceUrl}"`,
      `token_url = "${stub.tokenUrl}"`,
    ]
    : [`[oauth.${id}]`, `kind = "oidc"`, `client_id = "${CLIENT}"`, `issuer = "${stub.url}"`];
  const configFile = join(home.dir, "config.toml");
  writeFileSync(configFile, [...lines, ...extra].join("\n") + "\n");
  return {
    stub,
    id,
    configFile,
    env: baseEnv(home.dir),
    tokenFile: join(home.dir, "oauth_tokens.json"),
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

function readTokens(file: string): Record<string, Record<string, unknown>> {
  return JSON.parse(readFileSync(file, "utf8"));
}

function seedOther(t: Setup): string {
  const text = JSON.stringify(
    { other: { provider_id: "other", access_token: "at-other", kind: "anthropic" } },
    null,
    2,
  ) + "\n";
  writeFileSync(t.tokenFile, text, { mode: 0o600 });
  return text;
}

function assertNoSecrets(out: { stdout: string; stderr: string }, stub: DeviceServer) {
  for (const s of stub.issued) {
    assert.ok(!out.stderr.includes(s), "a secret reached stderr");
    assert.ok(!out.stdout.includes(s), "a secret reached stdout");
  }
}

function gaps(stub: DeviceServer): number[] {
  return stub.polls.slice(1).map((p, i) => p.at - stub.polls[i].at);
}

function fakeClock(): Clock & { waits: number[] } {
  let t = 1_000_000;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: (ms: number) => {
      waits.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
}

const login = (t: Setup, args: string[] = []) =>
  runCli(["login", t.id, ...args], { env: t.env, timeoutMs: 60_000 });

describe("ccmux login (github-copilot): GitHub's device flow", () => {
  test("no --device needed; HTTP-200 pending polls at the server's interval; a gho_ token is stored without expiry", async () => {
    const t = await setup({
      flavour: "github",
      interval: 1,
      script: ["pending", "pending", "approve"],
    });
    const started = Date.now();
    const r = await login(t);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^  ${t.stub.verificationUrl}$`, "m"));
    assert.match(r.stderr, new RegExp(`^  ${t.stub.userCode}$`, "m"));
    assert.match(r.stderr, /Signed in to 'gh' \(github-copilot\)/);
    assertNoSecrets(r, t.stub);
    // The start: the client and scope, asking for JSON (GitHub answers a form otherwise).
    assert.equal(t.stub.starts.length, 1);
    assert.deepEqual(t.stub.starts[0].params, { client_id: CLIENT, scope: "read:user" });
    assert.match(t.stub.starts[0].accept, /application\/json/);
    assert.equal(t.stub.polls.length, 3);
    for (const p of t.stub.polls) {
      assert.equal(p.params.grant_type, "urn:ietf:params:oauth:grant-type:device_code");
      assert.equal(p.params.device_code, t.stub.deviceCode);
      assert.equal(p.params.client_id, CLIENT);
    }
    assert.ok(t.stub.polls[0].at - started >= 1000, "first poll came before the interval");
    for (const g of gaps(t.stub)) assert.ok(g >= 990 && g < 4000, `poll gap ${g} ms`);
    const rec = readTokens(t.tokenFile).gh;
    assert.equal(rec.kind, "github-copilot");
    assert.match(String(rec.access_token), /^gho_/);
    assert.equal(rec.expires_at, undefined);
    assert.equal(rec.refresh_token, undefined);
    assert.deepEqual(rec.scopes, ["read:user"]);

    // It never expires: `token` hands it out as it is, `status` says so and never refreshes.
    const tok = await runCli(["token", "gh"], { env: t.env });
    assert.equal(tok.code, 0, tok.stderr);
    assert.equal(tok.stdout, `${rec.access_token}\n`);
    const st = await runCli(["status", "--json"], { env: t.env });
    assert.equal(st.code, 0, st.stderr);
    const row = JSON.parse(st.stdout).find((a: { id: string }) => a.id === "gh");
    assert.equal(row.expires_at, null);
    assert.equal(row.refreshable, false);
    assert.equal(t.stub.refreshes.length, 0);
  });

  test("an expiring ghu_ token is stored with its expiry and refresh token, and refreshes normally", async () => {
    const t = await setup({ flavour: "github", interval: 1, expiring: true, script: ["approve"] });
    const r = await login(t, ["--device"]);
    assert.equal(r.code, 0, r.stderr);
    const rec = readTokens(t.tokenFile).gh;
    assert.match(String(rec.access_token), /^ghu_/);
    assert.match(String(rec.refresh_token), /^ghr_/);
    assert.ok(Date.parse(String(rec.expires_at)) > Date.now() + 7 * 3600_000);
    const tok = await runCli(["token", "gh", "--refresh"], { env: t.env });
    assert.equal(tok.code, 0, tok.stderr);
    assert.equal(t.stub.refreshes.length, 1);
    assert.equal(t.stub.refreshes[0].refresh_token, rec.refresh_token);
    const next = readTokens(t.tokenFile).gh;
    assert.notEqual(next.access_token, rec.access_token);
    assert.equal(tok.stdout, `${next.access_token}\n`);
    // GitHub answers a spent refresh token with HTTP 200 and bad_refresh_token: sign in again.
    writeFileSync(t.tokenFile, JSON.stringify({ gh: { ...next, refresh_token: "ghr_spent" } }));
    const dead = await runCli(["token", "gh", "--refresh"], { env: t.env });
    assert.equal(dead.code, 4, dead.stderr);
    assert.match(dead.stderr, /bad_refresh_token/);
    assert.match(dead.stderr, /ccmux login gh/);
  });

  test("slow_down (HTTP 200) adds 5 s, or takes GitHub's new interval when slower", async () => {
    const t = await setup({
      flavour: "github",
      interval: 2,
      slowDownInterval: 20,
      script: ["pending", "slow_down", "pending", "slow_down", "approve"],
    });
    const config = loadConfig({ env: t.env, file: t.configFile });
    const clock = fakeClock();
    const said: string[] = [];
    const result = await deviceLogin({ config, id: t.id, say: (s) => said.push(s), clock });
    // 2, 2, then max(2+5, 20) = 20, then max(20+5, 20) = 25.
    assert.deepEqual(clock.waits, [2000, 2000, 20000, 20000, 25000]);
    assert.equal(t.stub.polls.length, 5);
    assert.match(result.record.access_token, /^gho_/);
  });

  test("access_denied (HTTP 200): exit 1 with a clear message, the token file unchanged", async () => {
    const t = await setup({ flavour: "github", interval: 1, script: ["pending", "deny"] });
    const before = seedOther(t);
    const r = await login(t);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /login gh failed: the sign-in was denied[^\n]*access_denied/);
    assert.equal(readFileSync(t.tokenFile, "utf8"), before);
    assertNoSecrets(r, t.stub);
  });

  test("expired_token (HTTP 200): exit 1 asking for a new code, nothing stored", async () => {
    const t = await setup({ flavour: "github", interval: 1, script: ["expire"] });
    const r = await login(t);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`code ${t.stub.userCode} expired[^\\n]*run the command again`),
    );
    assert.ok(!existsSync(t.tokenFile));
  });

  test("--timeout while still pending: exit 1, nothing stored", async () => {
    const t = await setup({ flavour: "github", interval: 1, script: ["pending"] });
    const started = Date.now();
    const r = await login(t, ["--timeout", "2"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /timed out after 2 s/);
    assert.ok(Date.now() - started >= 2000);
    assert.ok(!existsSync(t.tokenFile));
  });

  test("the code's own lifetime ends the wait (expires_in)", async () => {
    const t = await setup({ flavour: "github", interval: 1, expiresIn: 2, script: ["pending"] });
    const r = await login(t);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /expired before the sign-in was approved/);
    assert.ok(!existsSync(t.tokenFile));
  });

  test("without client_id: exit 1 explaining how to register an OAuth App, GitHub not contacted", async () => {
    const t = await setup({ flavour: "github" });
    writeFileSync(t.configFile, readFileSync(t.configFile, "utf8").replace(/^client_id.*$/m, ""));
    const r = await login(t);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /needs the client_id of your own GitHub OAuth App/);
    assert.match(r.stderr, /Enable Device Flow/);
    assert.match(r.stderr, /\[oauth\.gh\] client_id/);
    assert.equal(t.stub.starts.length, 0);
    // An ID that implies the kind says the same.
    const home = tempHome();
    cleanups.push(home.cleanup);
    const r2 = await runCli(["login", "copilot"], { env: baseEnv(home.dir) });
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, /needs the client_id of your own GitHub OAuth App/);
  });

  test("an unknown client (GitHub's 404 at the start): exit 1 naming the client_id", async () => {
    const t = await setup({ flavour: "github", clientId: "someone-else" });
    const r = await login(t);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /HTTP 404[^\n]*client_id/);
  });

  test("--paste is a usage error for a device-only kind", async () => {
    const t = await setup({ flavour: "github" });
    const r = await login(t, ["--paste"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /device flow only/);
  });

  test("domain: a GHE.com account's endpoints and Copilot API follow its domain", () => {
    const config = testConfig(`
[oauth.work]
kind = "github-copilot"
client_id = "Ov23x"
domain = "https://Company.GHE.com/"
copilot_token_exchange = true

[[providers]]
name = "copilot"
provider_type = "github-copilot"
auth_type = "oauth"
oauth_provider = "work"
`);
    const r = resolveOAuth(config, "work")!;
    assert.equal(r.device_authorization_url, "https://company.ghe.com/login/device/code");
    assert.equal(r.token_url, "https://company.ghe.com/login/oauth/access_token");
    assert.equal(r.copilot_token_url, "https://api.company.ghe.com/copilot_internal/v2/token");
    assert.equal(r.copilot_token_exchange, true);
    assert.deepEqual(r.scopes, ["read:user"]);
    assert.equal(config.providers[0].base_url, "https://copilot-api.company.ghe.com");
    const dotcom = resolveOAuth(testConfig(`[oauth.c]\nkind = "github-copilot"\n`), "c")!;
    assert.equal(dotcom.device_authorization_url, "https://github.com/login/device/code");
    assert.equal(dotcom.copilot_token_url, "https://api.github.com/copilot_internal/v2/token");
    assert.equal(dotcom.copilot_token_exchange, false);
  });

  test("config: provider github-copilot needs an oauth github-copilot account; domain is a host name", () => {
    assert.throws(
      () =>
        testConfig(`
[[providers]]
name = "copilot"
provider_type = "github-copilot"
auth_type = "apikey"
api_key = "x"
`),
      /providers\[0\]\.auth_type[^:]*: provider_type "github-copilot" needs auth_type = "oauth"/,
    );
    assert.throws(
      () =>
        testConfig(`
[[providers]]
name = "copilot"
provider_type = "github-copilot"
oauth_provider = "claude-max"
`),
      /account "claude-max" is of kind "anthropic"/,
    );
    assert.throws(
      () => testConfig(`[oauth.c]\nkind = "github-copilot"\ndomain = "not a host"\n`),
      /oauth\.c\.domain[^:]*: expected a host name/,
    );
    assert.throws(
      () => testConfig(`[oauth.c]\nkind = "oidc"\nissuer = "https://x.example"\ndomain = "a.b"\n`),
      /oauth\.c\.domain[^:]*: only for kind "github-copilot"/,
    );
  });
});

describe("ccmux login --device (oidc): a standards RFC 8628 server", () => {
  test("discovery's device endpoint; HTTP 400 pending; the complete URL printed; tokens stored", async () => {
    const t = await setup({
      flavour: "rfc",
      interval: 1,
      complete: true,
      script: ["pending", "pending", "approve"],
    }, "corp");
    const r = await login(t, ["--device"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^  ${t.stub.verificationUrl}$`, "m"));
    assert.match(r.stderr, new RegExp(`^  ${t.stub.userCode}$`, "m"));
    assert.match(
      r.stderr,
      new RegExp(`^  ${t.stub.verificationUrl}\\?code=${t.stub.userCode}$`, "m"),
    );
    assertNoSecrets(r, t.stub);
    assert.deepEqual(t.stub.starts[0].params, {
      client_id: CLIENT,
      scope: "openid offline_access",
    });
    assert.match(t.stub.starts[0].contentType, /application\/x-www-form-urlencoded/);
    assert.equal(t.stub.polls.length, 3);
    for (const g of gaps(t.stub)) assert.ok(g >= 990 && g < 4000, `poll gap ${g} ms`);
    const rec = readTokens(t.tokenFile).corp;
    assert.equal(rec.kind, "oidc");
    assert.match(String(rec.refresh_token), /^rt-/);
    assert.equal(typeof rec.expires_at, "string");
  });

  test("the 5 s default interval when the server names none; slow_down (HTTP 400) adds 5 s", async () => {
    const t = await setup({ flavour: "rfc", script: ["slow_down", "pending", "approve"] }, "corp");
    const config = loadConfig({ env: t.env, file: t.configFile });
    const clock = fakeClock();
    await deviceLogin({ config, id: t.id, say: () => {}, clock });
    assert.deepEqual(clock.waits, [5000, 10000, 10000]);
  });

  test("access_denied (HTTP 400): exit 1, the token file unchanged", async () => {
    const t = await setup({ flavour: "rfc", interval: 1, script: ["deny"] }, "corp");
    const before = seedOther(t);
    const r = await login(t, ["--device"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /login corp failed: the sign-in was denied[^\n]*access_denied/);
    assert.equal(readFileSync(t.tokenFile, "utf8"), before);
  });

  test("expired_token (HTTP 400): exit 1, nothing stored", async () => {
    const t = await setup({ flavour: "rfc", interval: 1, script: ["pending", "expire"] }, "corp");
    const r = await login(t, ["--device"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /expired before the sign-in was approved \(expired_token\)/);
    assert.ok(!existsSync(t.tokenFile));
  });

  test("--timeout while pending: exit 1, nothing stored", async () => {
    const t = await setup({ flavour: "rfc", interval: 1, script: ["pending"] }, "corp");
    const r = await login(t, ["--device", "--timeout", "2"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /timed out after 2 s/);
    assert.ok(!existsSync(t.tokenFile));
  });

  test("a server whose discovery has no device endpoint: exit 1 saying so, nothing stored", async () => {
    const t = await setup({ flavour: "rfc", noDeviceEndpoint: true }, "corp");
    const r = await login(t, ["--device"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /offers no device sign-in[^\n]*device_authorization_endpoint/);
    assert.equal(t.stub.starts.length, 0);
    assert.ok(!existsSync(t.tokenFile));
  });

  test("the kinds with a device sign-in", () => {
    assert.deepEqual(deviceKinds().sort(), ["github-copilot", "oidc", "openai"]);
  });
});
