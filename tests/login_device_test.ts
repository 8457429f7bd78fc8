// `ccmux login ID --device`: the CLI as a child process against a stub of OpenAI's device
// sign-in (the test plays the user approving, or not, on another device), and the poller's
// schedule (interval, slow_down, timeout, expiry) with an injected clock, so no test waits 5 s.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, runCli, tempHome } from "./helpers/cli.ts";
import {
  type DeviceStub,
  type DeviceStubOptions,
  startOpenAIDeviceStub,
} from "./helpers/openai_device_stub.ts";
import { startRedirectStub } from "./helpers/redirect_stub.ts";
import {
  type Clock,
  DeviceFlowError,
  type DeviceGrant,
  parseInterval,
  pollDevice,
  type PollOutcome,
} from "../src/auth/device.ts";
import { deviceKinds, deviceLogin } from "../src/auth/device_login.ts";
import { loadConfig } from "../src/config/mod.ts";

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const CLIENT = "app_test_client";

/** A temp home whose [oauth.ID] (kind openai) points every endpoint at a fresh device stub. */
async function setup(stubOpts: DeviceStubOptions = {}, id = "chatgpt", extraToml = "") {
  const stub = await startOpenAIDeviceStub({ clientId: CLIENT, ...stubOpts });
  const home = tempHome();
  cleanups.push(home.cleanup, () => stub.close());
  const toml = [
    `[oauth.${id}]`,
    `kind = "openai"`,
    `client_id = "${CLIENT}"`,
    `issuer = "${stub.url}"`,
    `authorize_url = "${stub.url}/oauth/authorize"`,
    `token_url = "${stub.tokenUrl}"`,
    `device_authorization_url = "${stub.usercodeUrl}"`,
  ].join("\n");
  const configFile = join(home.dir, "config.toml");
  writeFileSync(configFile, `${toml}\n${extraToml}`);
  return {
    stub,
    id,
    home: home.dir,
    configFile,
    env: baseEnv(home.dir),
    tokenFile: join(home.dir, "oauth_tokens.json"),
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

function readTokens(file: string): Record<string, Record<string, unknown>> {
  return JSON.parse(readFileSync(file, "utf8"));
}

/** Another account already in the token file: a failed sign-in must leave the file as it was. */
function seedOther(t: Setup): string {
  const text = JSON.stringify(
    { other: { provider_id: "other", access_token: "at-other", kind: "anthropic" } },
    null,
    2,
  ) + "\n";
  writeFileSync(t.tokenFile, text, { mode: 0o600 });
  return text;
}

function assertNoSecrets(out: { stdout: string; stderr: string }, stub: DeviceStub) {
  for (const s of stub.issued) {
    assert.ok(!out.stderr.includes(s), "a secret reached stderr");
    assert.ok(!out.stdout.includes(s), "a secret reached stdout");
  }
}

function gaps(stub: DeviceStub): number[] {
  return stub.polls.slice(1).map((p, i) => p.at - stub.polls[i].at);
}

describe("ccmux login --device (openai)", () => {
  test("approved after pending polls (403, 404): account stored with account_id, code and page on stderr", async () => {
    const t = await setup({
      interval: "1",
      script: ["pending403", "pending404", "approve"],
      accountId: "acct-dev-7",
    });
    const started = Date.now();
    const r = await runCli(["login", t.id, "--device"], { env: t.env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    // The page and the code, each on its own line, readable off the terminal.
    assert.match(r.stderr, new RegExp(`^  ${t.stub.verificationUrl}$`, "m"));
    assert.match(r.stderr, new RegExp(`^  ${t.stub.userCode}$`, "m"));
    assert.match(r.stderr, /Signed in to 'chatgpt' \(openai\) as dev@example\.com/);
    assertNoSecrets(r, t.stub);

    assert.deepEqual(t.stub.starts, [{ client_id: CLIENT }]);
    assert.equal(t.stub.polls.length, 3);
    for (const p of t.stub.polls) {
      assert.deepEqual(p.body, { device_auth_id: t.stub.deviceAuthId, user_code: t.stub.userCode });
    }
    // The server's 1 s interval, not the 5 s default: first poll one interval in, then 1 s apart.
    assert.ok(t.stub.polls[0].at - started >= 1000, "first poll came before the interval");
    for (const g of gaps(t.stub)) assert.ok(g >= 990 && g < 4000, `poll gap ${g} ms`);

    assert.equal(t.stub.exchanges.length, 1);
    const ex = t.stub.exchanges[0];
    assert.ok(ex.pkceOk, "the exchange used the verifier the device endpoint gave");
    assert.equal(ex.params.redirect_uri, `${t.stub.url}/deviceauth/callback`);
    assert.equal(ex.params.grant_type, "authorization_code");
    assert.equal(ex.params.client_id, CLIENT);

    const rec = readTokens(t.tokenFile).chatgpt;
    assert.equal(rec.provider_id, "chatgpt");
    assert.equal(rec.kind, "openai");
    assert.equal(rec.account_id, "acct-dev-7");
    assert.equal(typeof rec.id_token, "string");
    assert.equal(rec.access_token, t.stub.issued.find((s) => s.startsWith("at-")));
    assert.equal(rec.refresh_token, t.stub.issued.find((s) => s.startsWith("rt-")));
    assert.equal(typeof rec.expires_at, "string");
    assert.deepEqual(rec.account, { email: "dev@example.com", sub: "auth0|device-user" });
  });

  test("honours a 2 s server interval (numeric, code named `usercode`)", async () => {
    const t = await setup({
      interval: 2,
      altUserCodeField: true,
      script: ["pending404", "pending403", "approve"],
    });
    const r = await runCli(["login", t.id, "--device"], { env: t.env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^  ${t.stub.userCode}$`, "m"));
    assert.equal(t.stub.polls.length, 3);
    for (const g of gaps(t.stub)) assert.ok(g >= 1990 && g < 5000, `poll gap ${g} ms`);
    assert.equal(readTokens(t.tokenFile).chatgpt.account_id, "acct-device-1");
  });

  test("access_denied: exit 1 with a clear message, nothing stored", async () => {
    const t = await setup({ interval: "1", script: ["pending403", "deny"] });
    const before = seedOther(t);
    const r = await runCli(["login", t.id, "--device"], { env: t.env, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /login chatgpt failed: the sign-in was denied[^\n]*access_denied/);
    assert.equal(readFileSync(t.tokenFile, "utf8"), before);
    assert.equal(t.stub.exchanges.length, 0);
    assertNoSecrets(r, t.stub);
  });

  test("expired code: exit 1 with a clear message, nothing stored", async () => {
    const t = await setup({ interval: "1", script: ["expire"] });
    const r = await runCli(["login", t.id, "--device"], { env: t.env, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`code ${t.stub.userCode} expired[^\\n]*run the command again`),
    );
    assert.ok(!existsSync(t.tokenFile));
  });

  test("--timeout: exit 1 once it passes while still pending, nothing stored", async () => {
    const t = await setup({ interval: "1", script: ["pending403"] });
    const started = Date.now();
    const r = await runCli(["login", t.id, "--device", "--timeout", "2"], {
      env: t.env,
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /timed out after 2 s waiting for the sign-in to be approved/);
    assert.ok(Date.now() - started >= 2000);
    assert.ok(t.stub.polls.length >= 1 && t.stub.polls.length <= 2, `${t.stub.polls.length} polls`);
    assert.ok(!existsSync(t.tokenFile));
  });

  test("--device on a kind without device sign-in: usage error naming the kinds that have it", async () => {
    const home = tempHome();
    cleanups.push(home.cleanup);
    const r = await runCli(["login", "claude-max", "--device"], { env: baseEnv(home.dir) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^ccmux: --device: account 'claude-max' is of kind "anthropic"/m);
    assert.match(r.stderr, /--device works for kind "openai"/);
    assert.ok(!existsSync(join(home.dir, "oauth_tokens.json")));
  });

  test("--device with --paste is a usage error", async () => {
    const home = tempHome();
    cleanups.push(home.cleanup);
    const r = await runCli(["login", "chatgpt", "--device", "--paste"], { env: baseEnv(home.dir) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--device and --paste/);
  });

  test("the device endpoint answers 307: exit 1, the request is not re-sent, nothing stored", async () => {
    const t = await setup();
    const redirect = await startRedirectStub();
    cleanups.push(() => redirect.close());
    const text = readFileSync(t.configFile, "utf8");
    writeFileSync(
      t.configFile,
      text.replace(
        /^device_authorization_url = .*$/m,
        `device_authorization_url = "${redirect.url}/x"`,
      ),
    );
    const r = await runCli(["login", t.id, "--device"], { env: t.env, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /HTTP 307 \(a redirect to [^)]+\)[^\n]*does not follow redirects/);
    assert.equal(redirect.redirected.length, 1);
    assert.deepEqual(redirect.targetRequests, []);
    assert.ok(!existsSync(t.tokenFile));
  });

  test("the poll endpoint answers 307: exit 1, the device code is not re-sent, nothing stored", async () => {
    const redirect = await startRedirectStub();
    cleanups.push(() => redirect.close());
    const t = await setup({
      interval: "1",
      script: ["redirect"],
      redirectTo: `${redirect.targetUrl}/steal`,
    });
    const r = await runCli(["login", t.id, "--device"], { env: t.env, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /HTTP 307 \(a redirect to [^)]+\)[^\n]*does not follow redirects/);
    assert.equal(t.stub.polls.length, 1);
    assert.deepEqual(redirect.targetRequests, []);
    assert.ok(!existsSync(t.tokenFile));
    assertNoSecrets(r, t.stub);
  });

  test("a server without device sign-in (404 at the start): exit 1 saying so", async () => {
    const t = await setup();
    const text = readFileSync(t.configFile, "utf8");
    writeFileSync(
      t.configFile,
      text.replace(
        /^device_authorization_url = .*$/m,
        `device_authorization_url = "${t.stub.url}/nope/usercode"`,
      ),
    );
    const r = await runCli(["login", t.id, "--device"], { env: t.env, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /device sign-in is not available at [^\n]*HTTP 404/);
  });
});

/** A clock whose sleeps return at once and only move time forward; it records each wait. */
function fakeClock(): Clock & { waits: number[]; t: number } {
  const c = {
    t: 1_000_000,
    waits: [] as number[],
    now: () => c.t,
    sleep: (ms: number) => {
      c.waits.push(ms);
      c.t += ms;
      return Promise.resolve();
    },
  };
  return c;
}

type CountedGrant = DeviceGrant & { polls: number };

function grant(outcomes: PollOutcome[], over: Partial<DeviceGrant> = {}): CountedGrant {
  const g: CountedGrant = {
    user_code: "ABCD-EFG",
    verification_uri: "https://auth.example/device",
    interval_s: 2,
    expires_in_s: 900,
    polls: 0,
    poll: (): Promise<PollOutcome> =>
      Promise.resolve(outcomes[Math.min(g.polls++, outcomes.length - 1)]),
    ...over,
  };
  return g;
}

const TOKENS = { access_token: "at", token_type: "bearer" } as const;

describe("device poller (injected clock)", () => {
  test("waits the interval before every poll; slow_down adds 5 s for good, or the server's slower interval", async () => {
    const clock = fakeClock();
    const g = grant([
      { status: "pending" },
      { status: "slow_down" },
      { status: "pending" },
      { status: "slow_down", interval_s: 20 },
      { status: "pending" },
      { status: "slow_down", interval_s: 3 }, // slower than asked is never less than +5 s
      { status: "done", tokens: { ...TOKENS } },
    ]);
    const tokens = await pollDevice(g, { timeoutMs: 3_600_000, clock });
    assert.equal(tokens.access_token, "at");
    assert.deepEqual(clock.waits, [2000, 2000, 7000, 7000, 20000, 20000, 25000]);
    assert.equal(g.polls, 7);
  });

  test("--timeout ends the wait at the deadline, without a poll after it", async () => {
    const clock = fakeClock();
    const g = grant([{ status: "pending" }]);
    await assert.rejects(
      pollDevice(g, { timeoutMs: 5000, clock }),
      (e: unknown) =>
        e instanceof DeviceFlowError && e.reason === "timeout" && /after 5 s/.test(e.message),
    );
    assert.deepEqual(clock.waits, [2000, 2000, 1000]);
    assert.equal(g.polls, 2);
  });

  test("the code's lifetime ends it as expired_token when it comes before the timeout", async () => {
    const clock = fakeClock();
    const g = grant([{ status: "pending" }], { expires_in_s: 3 });
    await assert.rejects(
      pollDevice(g, { timeoutMs: 10_000, clock }),
      (e: unknown) => e instanceof DeviceFlowError && e.reason === "expired_token",
    );
    assert.deepEqual(clock.waits, [2000, 1000]);
    assert.equal(g.polls, 1);
  });

  test("a refusal from poll stops at once", async () => {
    const clock = fakeClock();
    const g = grant([{ status: "pending" }]);
    g.poll = () => Promise.reject(new DeviceFlowError("access_denied", "denied"));
    await assert.rejects(pollDevice(g, { timeoutMs: 60_000, clock }), /denied/);
    assert.deepEqual(clock.waits, [2000]);
  });

  test("intervals: a number or numeric string, whole seconds, at least 1 s", () => {
    assert.equal(parseInterval("5"), 5);
    assert.equal(parseInterval(7), 7);
    assert.equal(parseInterval(0.2), 1);
    assert.equal(parseInterval(0), undefined);
    assert.equal(parseInterval("-3"), undefined);
    assert.equal(parseInterval("soon"), undefined);
    assert.equal(parseInterval(undefined), undefined);
  });

  test("openai over HTTP: 429 and slow_down each add 5 s, 403/404 keep the interval", async () => {
    const t = await setup({
      interval: "1",
      script: ["pending403", "slow_down429", "pending404", "slow_down", "pending403", "approve"],
    });
    const config = loadConfig({ env: t.env, file: t.configFile });
    const clock = fakeClock();
    const said: string[] = [];
    const result = await deviceLogin({ config, id: t.id, say: (s) => said.push(s), clock });
    assert.deepEqual(clock.waits, [1000, 1000, 6000, 6000, 11000, 11000]);
    assert.equal(t.stub.polls.length, 6);
    assert.equal(result.record.account_id, "acct-device-1");
    assert.equal(readTokens(t.tokenFile).chatgpt.kind, "openai");
    assert.match(said.join(""), new RegExp(t.stub.userCode));
  });

  test("the kinds with a device sign-in", () => {
    assert.deepEqual(deviceKinds().sort(), ["github-copilot", "oidc", "openai"]);
  });
});
