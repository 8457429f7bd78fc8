// `ccmux admin url` / `ccmux admin token` as child processes: the generated token (0600,
// base64url, generated once), the configured one, the URL with the port, exit 1 when admin is
// off, and `config show` hiding the token. The generated token opens the API of a running serve.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { baseEnv, collect, runCli, startCli, tempHome, waitForLine } from "./helpers/cli.ts";
import { startCcmux } from "./helpers/ccmux_server.ts";

const homes: { cleanup: () => void }[] = [];
after(() => homes.forEach((h) => h.cleanup()));

function home(toml: string) {
  const h = tempHome();
  homes.push(h);
  writeFileSync(join(h.dir, "config.toml"), toml);
  return { dir: h.dir, env: baseEnv(h.dir) };
}

describe("ccmux admin", () => {
  test("admin token generates one token once (0600, base64url), admin url carries it", async () => {
    const h = home(`[server]\nport = 14567\n[admin]\nenabled = true\n`);
    const a = await runCli(["admin", "token"], { env: h.env });
    assert.equal(a.code, 0, a.stderr);
    const token = a.stdout.trim();
    assert.match(token, /^[A-Za-z0-9_-]{43,}$/);
    assert.equal(a.stdout, `${token}\n`);
    const file = join(h.dir, "admin_token");
    if (process.platform !== "win32") assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, "utf8").trim(), token);
    const b = await runCli(["admin", "token"], { env: h.env });
    assert.equal(b.stdout.trim(), token);
    const url = await runCli(["admin", "url"], { env: h.env });
    assert.equal(url.code, 0, url.stderr);
    assert.equal(url.stdout, `http://127.0.0.1:14567/admin#token=${token}\n`);
    const port = await runCli(["admin", "url", "--port", "2222"], { env: h.env });
    assert.equal(port.stdout, `http://127.0.0.1:2222/admin#token=${token}\n`);
    // The same token opens a serve's API (in-process here, same home).
    const ccmux = await startCcmux(`[admin]\nenabled = true\n`, { env: { CCMUX_HOME: h.dir } });
    try {
      const ok = await fetch(`${ccmux.url}/api/oauth/tokens`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { accounts: [] });
    } finally {
      await ccmux.close();
    }
  });

  test("a configured token is printed as is; config show hides it", async () => {
    const h = home(`[admin]\nenabled = true\ntoken = "$CCMUX_ADMIN_TOKEN"\n`);
    const env = { ...h.env, CCMUX_ADMIN_TOKEN: "configured-admin-token-0123456789" };
    const a = await runCli(["admin", "token"], { env });
    assert.equal(a.stdout, "configured-admin-token-0123456789\n");
    const shown = await runCli(["config", "show"], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(!shown.stdout.includes("configured-admin-token"));
    assert.match(shown.stdout, /\[admin\][^[]*token = "\*\*\*"/);
  });

  test("admin disabled → exit 1 with a clear message; usage errors → 2", async () => {
    const h = home("");
    for (const what of ["url", "token"]) {
      const r = await runCli(["admin", what], { env: h.env });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /admin API is disabled: set \[admin\] enabled = true/);
    }
    assert.equal((await runCli(["admin"], { env: h.env })).code, 2);
    assert.equal((await runCli(["admin", "nope"], { env: h.env })).code, 2);
    const help = await runCli(["admin", "--help"], { env: h.env });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /ccmux admin url/);
  });

  test("serve: an open /api/events stream does not hold up SIGTERM's drain", async () => {
    const h = home(`[admin]\nenabled = true\ntoken = "serve-admin-token-0123456789"\n`);
    const child = startCli(["serve", "--port", "0"], { env: h.env });
    const done = collect(child, 30_000);
    const m = await waitForLine(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const res = await fetch(`${m[1]}/api/events`, {
      headers: { authorization: "Bearer serve-admin-token-0123456789" },
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    await reader.read();
    const started = Date.now();
    // process.kill, not child.kill: Deno's ChildProcess.kill reports the signal as the exit.
    process.kill(child.pid!, "SIGTERM");
    const r = await done;
    assert.equal(r.code, 0, `${r.signal} ${r.stderr}`);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    await reader.cancel().catch(() => {});
  });

  test("config check refuses allow_remote without server.api_key", async () => {
    const h = home(`[admin]\nenabled = true\nallow_remote = true\n`);
    const r = await runCli(["config", "check"], { env: h.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /admin\.allow_remote/);
  });
});
