// Commands that send nothing upstream (env, status, token, login, logout) work while a
// provider's "$VAR" is unset, as with keys kept only in the service's env file; `ccmux env`
// prints an address a client can dial, takes --port like serve, and speaks $SHELL's syntax;
// `ccmux token --env` prints an export line.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { baseEnv, runCli, tempHome } from "./helpers/cli.ts";
import { record } from "./helpers/token_files.ts";

let home: ReturnType<typeof tempHome>;
let env: Record<string, string>;
before(() => {
  home = tempHome();
  env = baseEnv(home.dir);
});
after(() => home.cleanup());

let n = 0;
function configFile(text: string): string {
  const file = join(home.dir, `c${n++}.toml`);
  writeFileSync(file, text);
  return file;
}

/** A provider whose key only the service's environment sets. */
const KEYED =
  `[[providers]]\nname = "a"\nprovider_type = "anthropic"\napi_key = "$CCMUX_TEST_ONLY_IN_SERVICE"\n` +
  `[[providers]]\nname = "b"\nprovider_type = "groq"\nbase_url = "\${CCMUX_TEST_URL_IN_SERVICE}"\n` +
  `api_key = "$CCMUX_TEST_ONLY_IN_SERVICE"\n`;

describe('a provider\'s unset "$VAR" stops only serve and config check', () => {
  test("env, status, token and logout work; no variable is named as missing", async () => {
    const h = tempHome();
    try {
      const tokens = join(h.dir, "oauth_tokens.json");
      const acct = record("acct", "rt-unused", 3600);
      writeFileSync(tokens, JSON.stringify({ acct, other: record("other", undefined, 3600) }));
      writeFileSync(
        join(h.dir, "config.toml"),
        `[server]\nport = 4567\n${KEYED}[oauth.acct]\nkind = "anthropic"\ntoken_url = "http://127.0.0.1:9/t"\n`,
      );
      const e = baseEnv(h.dir);
      let r = await runCli(["env", "--shell", "sh"], { env: e });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `export ANTHROPIC_BASE_URL='http://127.0.0.1:4567'\n`);
      r = await runCli(["status", "--json"], { env: e });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).map((a: { id: string }) => a.id), ["acct", "other"]);
      r = await runCli(["token", "acct"], { env: e });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${acct.access_token}\n`);
      r = await runCli(["logout", "other"], { env: e });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(Object.keys(JSON.parse(readFileSync(tokens, "utf8"))), ["acct"]);
      r = await runCli(["serve", "--port", "0"], { env: e });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /environment variable CCMUX_TEST_ONLY_IN_SERVICE is not set/);
    } finally {
      h.cleanup();
    }
  });

  test("login gets as far as the sign-in URL", async () => {
    const file = configFile(
      `${KEYED}[oauth.acct]\nkind = "anthropic"\nauthorize_url = "http://127.0.0.1:9/authorize"\n`,
    );
    const r = await runCli(
      ["login", "acct", "--no-browser", "--timeout", "1", "--config", file],
      { env },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^http:\/\/127\.0\.0\.1:9\/authorize\?/m);
    assert.match(r.stderr, /timed out/);
    assert.doesNotMatch(r.stderr, /not set/);
  });

  test("env warns when server.api_key's variable is unset, and still prints the URL", async () => {
    const file = configFile(`[server]\nport = 4568\napi_key = "$CCMUX_TEST_UNSET_SRV"\n`);
    const r = await runCli(["env", "--config", file, "--shell", "sh"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `export ANTHROPIC_BASE_URL='http://127.0.0.1:4568'\n`);
    assert.match(r.stderr, /warning: server\.api_key: environment variable CCMUX_TEST_UNSET_SRV/);
  });
});

describe("ccmux env", () => {
  test("a wildcard host is printed as loopback", async () => {
    for (
      const [host, url] of [
        ["0.0.0.0", "http://127.0.0.1:4569"],
        ["::", "http://[::1]:4569"],
        ["::1", "http://[::1]:4569"],
        ["192.0.2.7", "http://192.0.2.7:4569"],
      ]
    ) {
      const file = configFile(`[server]\nhost = "${host}"\nport = 4569\napi_key = "k"\n`);
      const r = await runCli(["env", "--config", file, "--shell", "sh"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split("\n")[0], `export ANTHROPIC_BASE_URL='${url}'`);
    }
  });

  test("port 0 needs --port; --port and --host override the config as for serve", async () => {
    const file = configFile(`[server]\nport = 0\n`);
    let r = await runCli(["env", "--config", file], { env });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^ccmux: server\.port is 0.*--port/);
    r = await runCli(["env", "--config", file, "--port", "5001", "--shell", "sh"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `export ANTHROPIC_BASE_URL='http://127.0.0.1:5001'\n`);
    r = await runCli(["env", "--config", file, "-p", "5002", "--host", "::1"], {
      env: { ...env, SHELL: "/bin/bash" },
    });
    assert.equal(r.stdout, `export ANTHROPIC_BASE_URL='http://[::1]:5002'\n`);
  });

  test("$SHELL picks the syntax when --shell is not given", async () => {
    const file = configFile(`[server]\nport = 4570\n`);
    const url = "http://127.0.0.1:4570";
    for (
      const [shell, line] of [
        ["/usr/bin/fish", `set -gx ANTHROPIC_BASE_URL '${url}';`],
        ["/usr/local/bin/pwsh", `$env:ANTHROPIC_BASE_URL = '${url}'`],
        ["C:\\Program Files\\PowerShell\\7\\pwsh.exe", `$env:ANTHROPIC_BASE_URL = '${url}'`],
        ["/bin/zsh", `export ANTHROPIC_BASE_URL='${url}'`],
        ["", `export ANTHROPIC_BASE_URL='${url}'`],
      ]
    ) {
      const r = await runCli(["env", "--config", file], { env: { ...env, SHELL: shell } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${line}\n`, shell);
    }
    // --shell wins over $SHELL.
    const r = await runCli(["env", "--config", file, "--shell", "sh"], {
      env: { ...env, SHELL: "/usr/bin/fish" },
    });
    assert.equal(r.stdout, `export ANTHROPIC_BASE_URL='${url}'\n`);
  });
});

describe("ccmux token --env", () => {
  test("prints an export line that eval puts into a child's environment", async () => {
    const h = tempHome();
    try {
      const acct = record("acct", undefined, 3600);
      writeFileSync(join(h.dir, "oauth_tokens.json"), JSON.stringify({ acct }));
      const e = baseEnv(h.dir, { SHELL: "/bin/sh" });
      const r = await runCli(["token", "--env"], { env: e });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `export ANTHROPIC_AUTH_TOKEN='${acct.access_token}'\n`);
      const sh = spawnSync("sh", [
        "-c",
        `eval "$1"; sh -c 'printf %s "$ANTHROPIC_AUTH_TOKEN"'`,
        "sh",
        r.stdout,
      ], {
        encoding: "utf8",
      });
      assert.equal(sh.stdout, acct.access_token);
      const fish = await runCli(["token", "--env", "--shell", "fish"], { env: e });
      assert.equal(fish.stdout, `set -gx ANTHROPIC_AUTH_TOKEN '${acct.access_token}';\n`);
    } finally {
      h.cleanup();
    }
  });
});
