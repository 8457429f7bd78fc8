// `ccmux serve` as a child process: the listening line with the real port (text or JSON), exit 1
// when it cannot start, SIGHUP reloads the config (a broken one, or one that would leave a
// non-loopback listener without server.api_key, is reported and the old one kept; the first
// OAuth provider gets a token manager), and SIGTERM lets an in-flight stream finish before
// exiting 0 — at once when nothing is in flight.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import process from "node:process";
import { connect } from "node:net";
import { baseEnv, collect, runCli, startCli, tempHome } from "./helpers/cli.ts";
import { messageEvents, messageJson, startUpstreamStub } from "./helpers/upstream_stub.ts";
import { record } from "./helpers/token_files.ts";

function providerConfig(url: string, extra = ""): string {
  return `${extra}
[[providers]]
name = "up"
provider_type = "anthropic"
auth_type = "apikey"
api_key = "sk-reload-test-key"
base_url = "${url}"
`;
}

/** Follows a child's stderr; `until(re)` resolves once the output so far matches. */
function follow(child: ChildProcess) {
  let text = "";
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    text += d;
    for (const w of [...waiters]) {
      const m = w.re.exec(text);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    get text() {
      return text;
    },
    until(re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
      const m = re.exec(text);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no ${re} in stderr:\n${text}`));
        }, timeoutMs);
        const w = {
          re,
          resolve: (m: RegExpExecArray) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        waiters.push(w);
      });
    },
  };
}

/**
 * Sends SIGHUP (through process.kill: Deno's ChildProcess.kill signals a child only once) until
 * stderr shows `re` after this call; a repeated reload is harmless.
 */
async function signalUntil(child: ChildProcess, err: ReturnType<typeof follow>, re: RegExp) {
  const from = err.text.length;
  const fresh = () => re.test(err.text.slice(from));
  for (let i = 0; i < 10 && !fresh(); i++) {
    process.kill(child.pid!, "SIGHUP");
    await err.until(new RegExp(`[\\s\\S]{${from}}[\\s\\S]*${re.source}`), 3000).catch(() => {});
  }
  assert.ok(fresh(), `no ${re} after SIGHUP; stderr:\n${err.text}`);
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
}

async function post(base: string, body: Record<string, unknown> = {}): Promise<Response> {
  return await fetch(base + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "claude-x", max_tokens: 5, messages: [], ...body }),
  });
}

describe("ccmux serve (child process)", {
  skip: process.platform === "win32" ? "POSIX signals" : undefined,
}, () => {
  test("listening line, SIGHUP reload (good and broken), SIGTERM drains a stream", async () => {
    const home = tempHome();
    const stub1 = await startUpstreamStub({ json: messageJson("one") });
    const stub2 = await startUpstreamStub((req) =>
      req.json?.stream
        ? { events: messageEvents(Array.from({ length: 8 }, (_, i) => `w${i}`)), delayMs: 150 }
        : { json: messageJson("two") }
    );
    const file = join(home.dir, "config.toml");
    writeFileSync(file, providerConfig(stub1.url));
    const child = startCli(["serve", "--config", file, "--port", "0"], {
      env: baseEnv(home.dir),
    });
    child.stdin!.end();
    const err = follow(child);
    try {
      const m = await err.until(/ccmux listening on http:\/\/127\.0\.0\.1:(\d+)\n/);
      const base = `http://127.0.0.1:${m[1]}`;
      assert.notEqual(Number(m[1]), 0);
      let res = await post(base);
      assert.equal((await res.json()).content[0].text, "one");

      writeFileSync(file, providerConfig(stub2.url));
      await signalUntil(child, err, /config reloaded/);
      res = await post(base);
      assert.equal((await res.json()).content[0].text, "two");

      writeFileSync(file, providerConfig(stub1.url) + "\n[router\nbroken = ");
      await signalUntil(child, err, /config reload failed, keeping the running config/);
      res = await post(base);
      assert.equal((await res.json()).content[0].text, "two");

      // SIGTERM while a stream is in flight: it finishes, then the process exits 0.
      res = await post(base, { stream: true });
      const reader = res.body!.getReader();
      let text = new TextDecoder().decode((await reader.read()).value);
      process.kill(child.pid!, "SIGTERM");
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      assert.match(text, /w7/);
      assert.match(text, /event: message_stop/);
      assert.equal(await exited(child), 0);
      assert.equal(err.text.includes("sk-reload-test-key"), false);
      assert.equal(stub2.requests.at(-1)!.headers["x-api-key"], "sk-reload-test-key");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited(child);
      await stub1.close();
      await stub2.close();
      home.cleanup();
    }
  });

  test("exit 1 with the reason when it cannot start", async () => {
    const home = tempHome();
    const stub = await startUpstreamStub();
    try {
      const env = baseEnv(home.dir);
      let r = await runCli(["serve", "--port", String(stub.port)], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+: address already in use/);

      const bad = join(home.dir, "bad.toml");
      writeFileSync(bad, '[server]\nport = "x"\n');
      r = await runCli(["serve", "--config", bad], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /server\.port/);

      r = await runCli(["serve", "--host", "0.0.0.0", "--port", "0"], { env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /non-loopback host '0\.0\.0\.0' without server\.api_key/);

      r = await runCli(["serve", "--port", "nope"], { env });
      assert.equal(r.code, 2);
    } finally {
      await stub.close();
      home.cleanup();
    }
  });

  test("SIGINT with nothing in flight exits 0 at once", async () => {
    const home = tempHome();
    const child = startCli(["serve", "--port", "0"], { env: baseEnv(home.dir) });
    child.stdin!.end();
    const done = collect(child, 30_000);
    const err = follow(child);
    try {
      const m = await err.until(/ccmux listening on http:\/\/127\.0\.0\.1:(\d+)\n/);
      const health = await (await fetch(`http://127.0.0.1:${m[1]}/health`)).json();
      assert.equal(health.status, "ok");
      process.kill(child.pid!, "SIGINT");
      const r = await done;
      assert.equal(r.code, 0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      home.cleanup();
    }
  });

  test("a reload cannot drop server.api_key while the listener is not loopback", async () => {
    const home = tempHome();
    const stub = await startUpstreamStub({ json: messageJson("ok") });
    const file = join(home.dir, "config.toml");
    writeFileSync(
      file,
      providerConfig(stub.url, `[server]\nhost = "0.0.0.0"\napi_key = "K1-reload-key"\n`),
    );
    const child = startCli(["serve", "--config", file, "--port", "0"], {
      env: baseEnv(home.dir),
    });
    child.stdin!.end();
    const err = follow(child);
    try {
      const m = await err.until(/ccmux listening on http:\/\/0\.0\.0\.0:(\d+)\n/);
      const base = `http://127.0.0.1:${m[1]}`;
      assert.equal((await post(base)).status, 401);
      // The file now says loopback without a key; the socket still listens on 0.0.0.0.
      writeFileSync(file, providerConfig(stub.url, `[server]\nhost = "127.0.0.1"\n`));
      await signalUntil(
        child,
        err,
        /config reload failed, keeping the running config: .*0\.0\.0\.0/,
      );
      const res = await post(base);
      assert.equal(res.status, 401);
      await res.arrayBuffer();
      assert.equal(stub.requests.length, 0);
      assert.equal(err.text.includes("K1-reload-key"), false);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited(child);
      await stub.close();
      home.cleanup();
    }
  });

  test("::ffff:127.0.0.1 is a loopback address: serve starts there without api_key", async () => {
    const home = tempHome();
    const stub = await startUpstreamStub({ json: messageJson("mapped") });
    const file = join(home.dir, "config.toml");
    writeFileSync(file, providerConfig(stub.url, `[server]\nhost = "::ffff:127.0.0.1"\n`));
    const child = startCli(["serve", "--config", file, "--port", "0"], {
      env: baseEnv(home.dir),
    });
    child.stdin!.end();
    const err = follow(child);
    try {
      const m = await err.until(/ccmux listening on http:\/\/\[::ffff:127\.0\.0\.1\]:(\d+)\n/);
      const res = await post(`http://127.0.0.1:${m[1]}`);
      assert.equal((await res.json()).content[0].text, "mapped");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited(child);
      await stub.close();
      home.cleanup();
    }
  });

  test("a reload that adds the first OAuth provider serves it (no 500)", async () => {
    const home = tempHome();
    const stub = await startUpstreamStub({ json: messageJson("via oauth") });
    const file = join(home.dir, "config.toml");
    writeFileSync(file, providerConfig(stub.url));
    const child = startCli(["serve", "--config", file, "--port", "0"], {
      env: baseEnv(home.dir),
    });
    child.stdin!.end();
    const err = follow(child);
    try {
      const m = await err.until(/ccmux listening on http:\/\/127\.0\.0\.1:(\d+)\n/);
      const base = `http://127.0.0.1:${m[1]}`;
      assert.equal((await post(base)).status, 200);
      const rec = record("claude-max", undefined, 3600);
      const tokenFile = join(home.dir, "oauth_tokens.json");
      writeFileSync(tokenFile, JSON.stringify({ "claude-max": rec }), { mode: 0o600 });
      writeFileSync(
        file,
        `[[providers]]\nname = "max"\nprovider_type = "anthropic"\nauth_type = "oauth"\n` +
          `oauth_provider = "claude-max"\nbase_url = "${stub.url}"\n`,
      );
      await signalUntil(child, err, /config reloaded/);
      const res = await post(base);
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal((await res.json()).content[0].text, "via oauth");
      assert.equal(stub.requests.at(-1)!.headers["authorization"], `Bearer ${rec.access_token}`);
      assert.equal(err.text.includes(rec.access_token), false);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited(child);
      await stub.close();
      home.cleanup();
    }
  });

  test("log_format json: the listening line and events are JSON too", async () => {
    const home = tempHome();
    const file = join(home.dir, "config.toml");
    writeFileSync(file, `[server]\nlog_format = "json"\n`);
    const child = startCli(["serve", "--config", file, "--port", "0"], {
      env: baseEnv(home.dir),
    });
    child.stdin!.end();
    const done = collect(child, 30_000);
    const err = follow(child);
    try {
      const m = await err.until(/ccmux listening on http:\/\/127\.0\.0\.1:(\d+)/);
      await (await fetch(`http://127.0.0.1:${m[1]}/v1/models`)).arrayBuffer();
      await err.until(/\/v1\/models/);
      process.kill(child.pid!, "SIGTERM");
      const r = await done;
      assert.equal(r.code, 0);
      const lines = r.stderr.trim().split("\n");
      assert.ok(lines.length >= 3, r.stderr);
      const parsed = lines.map((l) => JSON.parse(l));
      assert.equal(parsed[0].message, `ccmux listening on http://127.0.0.1:${m[1]}`);
      assert.equal(parsed[0].url, `http://127.0.0.1:${m[1]}`);
      assert.equal(parsed[0].level, "info");
      assert.ok(parsed.some((p) => p.path === "/v1/models" && p.status === 200));
      assert.ok(parsed.some((p) => /shutting down/.test(p.message)));
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      home.cleanup();
    }
  });

  test("SIGTERM right after the listening line, with idle connections open: exit 0 at once", async () => {
    const home = tempHome();
    const child = startCli(["serve", "--port", "0"], { env: baseEnv(home.dir) });
    child.stdin!.end();
    const done = collect(child, 30_000);
    const err = follow(child);
    try {
      const m = await err.until(/ccmux listening on http:\/\/127\.0\.0\.1:(\d+)\n/);
      // The signal at once: it must find serve's handler, not the runtime's default action.
      process.kill(child.pid!, "SIGTERM");
      let r = await done;
      assert.equal(r.signal, null, "exited by its own handler");
      assert.equal(r.code, 0);

      // Again with a keep-alive connection that served a request and one that sent nothing.
      const again = startCli(["serve", "--port", "0"], { env: baseEnv(home.dir) });
      again.stdin!.end();
      const finished = collect(again, 30_000);
      const err2 = follow(again);
      const m2 = await err2.until(/ccmux listening on http:\/\/127\.0\.0\.1:(\d+)\n/);
      const port = Number(m2[1]);
      const idle = connect(port, "127.0.0.1");
      const silent = connect(port, "127.0.0.1");
      idle.on("error", () => {});
      silent.on("error", () => {});
      await new Promise((resolve) => {
        idle.once("data", resolve);
        idle.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      });
      const closed = (s: typeof idle) => new Promise((resolve) => s.once("close", resolve));
      const t0 = performance.now();
      process.kill(again.pid!, "SIGTERM");
      await Promise.all([closed(idle), closed(silent)]);
      r = await finished;
      const ms = performance.now() - t0;
      assert.equal(r.code, 0);
      assert.ok(ms < 1000, `took ${Math.round(ms)} ms to exit`);
      void m;
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      home.cleanup();
    }
  });
});
