// `ccmux serve` (a child process) with [auth] background_refresh: an account expiring within
// refresh_skew_s is refreshed with no client request, and the next request uses the new token;
// a dead refresh token is logged and marked needs_login; with background_refresh = false
// nothing is refreshed until a request needs it. On both stores (plain and encrypted).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { baseEnv, startCli, tempHome, waitForLine } from "./helpers/cli.ts";
import { messageJson, startUpstreamStub, type UpstreamStub } from "./helpers/upstream_stub.ts";
import { type OAuthStub, startOAuthStub } from "./helpers/oauth_stub.ts";
import { record, writeSetup } from "./helpers/token_files.ts";
import { assertNoTokensIn, readDoc, STORES, useEncrypted } from "./helpers/sealed.ts";
import type { TokenRecord } from "../src/auth/types.ts";

const T = 90_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Serve {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  stop: () => Promise<void>;
}

async function until(what: string, f: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function setup(
  store: (typeof STORES)[number],
  rec: (stub: OAuthStub) => TokenRecord,
  authToml = "",
) {
  const oauth = await startOAuthStub();
  const upstream = await startUpstreamStub({ json: messageJson() });
  const h = tempHome();
  const old = rec(oauth);
  const files = writeSetup(h.dir, oauth.tokenUrl, { "claude-max": old });
  writeFileSync(
    files.config,
    `[[providers]]\nname = "max"\nprovider_type = "anthropic"\nauth_type = "oauth"\n` +
      `oauth_provider = "claude-max"\nbase_url = "${upstream.url}"\n\n` +
      readFileSync(files.config, "utf8"),
  );
  let key: string | undefined;
  let extraEnv: Record<string, string> = {};
  if (store === "encrypted") {
    const e = await useEncrypted(files, undefined, authToml);
    key = e.key;
    extraEnv = e.env;
  } else if (authToml) appendFileSync(files.config, `\n[auth]\n${authToml}`);
  return {
    oauth,
    upstream,
    old,
    files,
    read: () => readDoc(files.tokens, key),
    env: baseEnv(h.dir, extraEnv),
    cleanup: async () => {
      await oauth.close();
      await upstream.close();
      h.cleanup();
    },
  };
}

async function serve(env: Record<string, string>): Promise<Serve> {
  const child = startCli(["serve", "--port", "0"], { env });
  child.stdin!.end();
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<void>((r) => child.on("close", () => r()));
  const m = await waitForLine(child, /ccmux listening on (http:\/\/\S+)\n/, T);
  return {
    child,
    url: m[1],
    stderr: () => err,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function ask(url: string): Promise<number> {
  return fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    }),
  }).then(async (r) => {
    await r.text();
    return r.status;
  });
}

function noSecretsInLog(s: Serve, secrets: (string | undefined)[], stub: UpstreamStub) {
  void stub;
  for (const x of secrets) if (x) assert.ok(!s.stderr().includes(x), "a token in serve's log");
}

for (const store of STORES) {
  describe(`serve: background refresh (store ${store})`, { timeout: 300_000 }, () => {
    test("an account expiring within the skew is refreshed with no request; the next request uses the new token", async () => {
      // Expires in 2 minutes: inside refresh_skew_s (300 s), still valid.
      const s = await setup(store, (stub) => record("claude-max", stub.seed(), 120));
      const srv = await serve(s.env);
      try {
        await until("the background refresh", () => s.oauth.refreshCount === 1);
        // The stub counts when it answers; the file is written just after.
        let rec = (await s.read())["claude-max"];
        for (let i = 0; i < 100 && rec.access_token === s.old.access_token; i++) {
          await sleep(50);
          rec = (await s.read())["claude-max"];
        }
        assert.equal(s.upstream.requests.length, 0, "no client request was made");
        assert.equal(rec.access_token, s.oauth.issued[0]);
        assert.ok(Date.parse(rec.expires_at!) > Date.now() + 3600_000);
        assert.equal(await ask(srv.url), 200);
        assert.equal(
          s.upstream.requests[0].headers["authorization"],
          `Bearer ${s.oauth.issued[0]}`,
        );
        assert.equal(s.oauth.refreshCount, 1, "the request did not refresh again");
        await until(
          "the log line",
          () => /refreshed 'claude-max' in the background/.test(srv.stderr()),
        );
        noSecretsInLog(srv, [
          ...s.oauth.issued,
          s.old.access_token,
          s.old.refresh_token,
          rec.refresh_token,
        ], s.upstream);
        if (store === "encrypted") {
          assertNoTokensIn(s.files.tokens, [...s.oauth.issued, rec.refresh_token]);
        }
      } finally {
        await srv.stop();
        await s.cleanup();
      }
    });

    test("a dead refresh token: logged, marked needs_login, no secret in the log", async () => {
      const s = await setup(store, () => record("claude-max", "rt-never-issued-SECRET", 120));
      const srv = await serve(s.env);
      try {
        await until(
          "the warning",
          () => /background refresh of 'claude-max' failed/.test(srv.stderr()),
        );
        assert.match(srv.stderr(), /invalid_grant.*run: ccmux login claude-max/);
        assert.equal((await s.read())["claude-max"].needs_login, true);
        noSecretsInLog(srv, ["rt-never-issued-SECRET", s.old.access_token], s.upstream);
      } finally {
        await srv.stop();
        await s.cleanup();
      }
    });
  });
}

test("background_refresh = false: nothing is refreshed until a request needs it", {
  timeout: 120_000,
}, async () => {
  const s = await setup(
    "file",
    (stub) => record("claude-max", stub.seed(), 120),
    "background_refresh = false\n",
  );
  const srv = await serve(s.env);
  try {
    await sleep(1500);
    assert.equal(s.oauth.refreshCount, 0);
    assert.equal(await ask(srv.url), 200);
    assert.equal(s.oauth.refreshCount, 1, "the request refreshed the expiring token");
  } finally {
    await srv.stop();
    await s.cleanup();
  }
});
