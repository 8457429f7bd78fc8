// Usage records through the real CLI: `ccmux serve` (a child process) counts the stub's own
// usage figures for JSON and streamed answers, SIGTERM saves them to $CCMUX_HOME/state/ (0600
// files in a 0700 folder), `ccmux usage --json` prints the sums, and a restart keeps them.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { baseEnv, runCli, startCli, tempHome, waitForLine } from "./helpers/cli.ts";
import {
  messageEvents,
  messageJson,
  startUpstreamStub,
  type StubEvent,
  unifiedHeaders,
  type UpstreamStub,
} from "./helpers/upstream_stub.ts";
import { assertNoSecrets, record, writeSetup } from "./helpers/token_files.ts";

const T = 30_000;
const MODEL = "claude-sonnet-4-5";

/** A JSON answer reporting these counts. */
function jsonWith(usage: Record<string, number>) {
  return { ...messageJson(), usage };
}

/** A streamed answer: message_start's usage (input, cache), message_delta's output count. */
function eventsWith(start: Record<string, number>, output: number): StubEvent[] {
  const events = messageEvents(["a", "b"]);
  const first = events[0] as { data: { message: { usage: unknown } } };
  first.data.message.usage = start;
  const delta = events[events.length - 2] as { data: { usage: unknown } };
  delta.data.usage = { output_tokens: output };
  return events;
}

async function serve(home: string) {
  const child = startCli(["serve", "--port", "0"], { env: baseEnv(home) });
  child.stdin!.end();
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | string | null>((r) =>
    child.on("close", (code, signal) => r(code ?? signal))
  );
  const m = await waitForLine(child, /ccmux listening on (http:\/\/\S+)\n/, T);
  return {
    url: m[1],
    stderr: () => err,
    stop: () => {
      // process.kill, not child.kill: Deno's ChildProcess.kill reports the signal as the exit.
      process.kill(child.pid!, "SIGTERM");
      return exited;
    },
  };
}

function ask(url: string, stream = false) {
  return fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: MODEL,
      max_tokens: 10,
      stream,
      messages: [{ role: "user", content: "hi" }],
    }),
  }).then(async (r) => ({ status: r.status, text: await r.text() }));
}

function setup(home: string, stub: UpstreamStub) {
  const rec = record("claude-max", "rt-secret-1", 3600);
  writeSetup(home, "http://127.0.0.1:9/never-called", { "claude-max": rec });
  writeFileSync(
    join(home, "config.toml"),
    readFileSync(join(home, "config.toml"), "utf8") +
      `[[providers]]
name = "max"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "claude-max"
base_url = "${stub.url}"
`,
  );
  return rec;
}

async function usageJson(home: string) {
  const r = await runCli(["usage", "--json"], { env: baseEnv(home), timeoutMs: T });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe("ccmux usage", () => {
  test("sums the upstream's counts (JSON and streamed), survives a restart; files 0600", async () => {
    const home = tempHome();
    const reset = Date.now() + 3600_000;
    const stub = await startUpstreamStub((req) => ({
      headers: unifiedHeaders({ status: "allowed", h5: { utilization: 0.25, reset } }),
      ...(req.json?.stream === true
        ? {
          events: eventsWith({
            input_tokens: 20,
            output_tokens: 1,
            cache_read_input_tokens: 30,
            cache_creation_input_tokens: 4,
          }, 9),
        }
        : {
          json: jsonWith({
            input_tokens: 12,
            output_tokens: 5,
            cache_read_input_tokens: 100,
            cache_creation_input_tokens: 7,
          }),
        }),
    }));
    try {
      const rec = setup(home.dir, stub);
      let s = await serve(home.dir);
      assert.equal((await ask(s.url)).status, 200);
      const streamed = await ask(s.url, true);
      assert.equal(streamed.status, 200);
      assert.match(streamed.text, /message_stop/);
      assert.equal(await s.stop(), 0, s.stderr());
      const model = stub.requests[0].json!.model;

      const rows = await usageJson(home.dir);
      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual(rows, [{
        day: today,
        provider: "max",
        model,
        account: "claude-max",
        requests: 2,
        errors: 0,
        input_tokens: 32,
        output_tokens: 14,
        cache_read_tokens: 130,
        cache_write_tokens: 11,
      }]);

      const dir = join(home.dir, "state");
      if (process.platform !== "win32") {
        assert.equal(statSync(dir).mode & 0o777, 0o700);
        for (const f of ["usage.json", "quota.json"]) {
          assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
        }
      }
      const quota = JSON.parse(readFileSync(join(dir, "quota.json"), "utf8"));
      assert.equal(quota.providers[0].provider, "max");
      assert.equal(quota.providers[0].account, "claude-max");
      assert.equal(quota.providers[0].windows[0].utilization, 0.25);
      for (const f of ["usage.json", "quota.json"]) {
        assertNoSecrets(readFileSync(join(dir, f), "utf8"), [rec.access_token, rec.refresh_token]);
      }

      // A restart keeps the records and adds to them.
      s = await serve(home.dir);
      assert.equal((await ask(s.url)).status, 200);
      assert.equal(await s.stop(), 0);
      const after = await usageJson(home.dir);
      assert.equal(after.length, 1);
      assert.equal(after[0].requests, 3);
      assert.equal(after[0].input_tokens, 44);
      assert.equal(after[0].cache_read_tokens, 230);

      // The table, and usage errors.
      const table = await runCli(["usage", "--days", "1"], {
        env: baseEnv(home.dir),
        timeoutMs: T,
      });
      assert.equal(table.code, 0);
      assert.match(table.stdout, /^DAY\s+PROVIDER\s+MODEL\s+ACCOUNT\s+REQUESTS/);
      assert.match(
        table.stdout,
        new RegExp(`${today}\\s+max\\s+\\S+\\s+claude-max\\s+3\\s+0\\s+44`),
      );
      const bad = await runCli(["usage", "--days", "0"], { env: baseEnv(home.dir), timeoutMs: T });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^ccmux: invalid value '0' for --days/);
      const help = await runCli(["usage", "--help"], { env: baseEnv(home.dir), timeoutMs: T });
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^Usage: ccmux usage/);
    } finally {
      await stub.close();
      home.cleanup();
    }
  });
});
