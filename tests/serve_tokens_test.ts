// `ccmux serve` (a child process) when its token file turns unusable while it runs: it keeps
// serving with the last good tokens, logs one error naming the file, never overwrites it, and
// a file that was never readable is a clear local error, not "no upstream could be reached".
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, startCli, tempHome, waitForLine } from "./helpers/cli.ts";
import { messageJson, startUpstreamStub, type UpstreamStub } from "./helpers/upstream_stub.ts";
import { record } from "./helpers/token_files.ts";

const T = 90_000;

interface Serve {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  stop: () => Promise<void>;
}

async function serve(home: string, stub: UpstreamStub): Promise<Serve> {
  writeFileSync(
    join(home, "config.toml"),
    `[[providers]]
name = "max"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "claude-max"
base_url = "${stub.url}"
[oauth.claude-max]
kind = "anthropic"
token_url = "http://127.0.0.1:9/never-called"
`,
  );
  const child = startCli(["serve", "--port", "0"], { env: baseEnv(home) });
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

function ask(url: string): Promise<{ status: number; text: string }> {
  return fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    }),
  }).then(async (r) => ({ status: r.status, text: await r.text() }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Log lines reach stderr after the answer (batched per event-loop turn): wait for them. */
async function logged(s: Serve, re: RegExp, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (s.stderr().split("\n").filter((l) => re.test(l)).length < count) {
    if (Date.now() > deadline) break;
    await sleep(50);
  }
}

describe("serve and a token file that turns unusable", { timeout: 300_000 }, () => {
  test("corrupted while serving: last good tokens, one error naming the file, file untouched", async () => {
    const h = tempHome();
    const stub = await startUpstreamStub({ json: messageJson() });
    const tokens = join(h.dir, "oauth_tokens.json");
    const rec = record("claude-max", "rt-secret-1", 3600);
    const good = JSON.stringify({ "claude-max": rec }, null, 2);
    writeFileSync(tokens, good, { mode: 0o600 });
    const s = await serve(h.dir, stub);
    try {
      assert.equal((await ask(s.url)).status, 200);
      // As `head -c 100 backup > oauth_tokens.json` would: truncated in place.
      const corrupt = good.slice(0, 100);
      writeFileSync(tokens, corrupt);
      await sleep(1300); // past the 1 s in which serve trusts its last read
      for (let i = 0; i < 4; i++) {
        const r = await ask(s.url);
        assert.equal(r.status, 200, r.text);
        await sleep(400);
      }
      assert.equal(stub.requests.length, 5);
      await logged(s, / POST /, 5);
      for (const req of stub.requests) {
        assert.equal(req.headers["authorization"], `Bearer ${rec.access_token}`);
      }
      const errors = s.stderr().split("\n").filter((l) => l.includes("oauth_tokens.json"));
      assert.equal(errors.length, 1, `expected one line about the file:\n${s.stderr()}`);
      assert.ok(errors[0].includes(tokens), errors[0]);
      assert.match(errors[0], /\berror\b.*not valid JSON.*serving with the tokens last read/i);
      assert.equal(readFileSync(tokens, "utf8"), corrupt, "the corrupt file was rewritten");
      // Fixed again: picked up, said once.
      writeFileSync(tokens, good);
      await sleep(1300);
      assert.equal((await ask(s.url)).status, 200);
      assert.match(s.stderr(), /token file .*oauth_tokens\.json is readable again/);
      assert.ok(!s.stderr().includes(rec.access_token), "a token in the log");
      assert.ok(!s.stderr().includes("rt-secret-1"), "a token in the log");
    } finally {
      await s.stop();
      await stub.close();
      h.cleanup();
    }
  });

  test("unusable from the start: the client gets a local error naming the file, no upstream call", async () => {
    const h = tempHome();
    const stub = await startUpstreamStub({ json: messageJson() });
    const tokens = join(h.dir, "oauth_tokens.json");
    writeFileSync(tokens, '{"claude-max": {"access_token": "sk-ant-oat-SECRET', { mode: 0o600 });
    const s = await serve(h.dir, stub);
    try {
      const answers = [await ask(s.url), await ask(s.url)];
      for (const r of answers) {
        assert.notEqual(r.status, 200);
        assert.doesNotMatch(r.text, /no upstream could be reached/);
        const body = JSON.parse(r.text);
        assert.equal(body.type, "error");
        assert.ok(body.error.message.includes(tokens), body.error.message);
        assert.match(body.error.message, /not valid JSON/);
        assert.ok(!r.text.includes("SECRET"));
      }
      assert.equal(stub.requests.length, 0);
      await logged(s, / POST /, 2); // both request lines are out, and so is the error before them
      const lines = s.stderr().split("\n").filter((l) =>
        /not valid JSON/.test(l) && !/ POST /.test(l)
      );
      assert.equal(lines.length, 1, s.stderr());
      assert.ok(!s.stderr().includes("SECRET"));
    } finally {
      await s.stop();
      await stub.close();
      h.cleanup();
    }
  });
});
