// The encrypted store with its key in a real Secret Service (Linux: gnome-keyring through
// secret-tool), as child processes. It needs a D-Bus session with an unlocked keyring: .ci/run
// installs gnome-keyring, libsecret-tools and dbus and runs this file inside `dbus-run-session`
// after `gnome-keyring-daemon --unlock`. Without them the test says why it did not run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { baseEnv, runCli, tempHome } from "./helpers/cli.ts";
import { startOAuthStub } from "./helpers/oauth_stub.ts";
import { record, writeSetup } from "./helpers/token_files.ts";
import { assertNoTokensIn } from "./helpers/sealed.ts";

/** Why the real Secret Service cannot be used here, or undefined when it can. */
function unavailable(): string | undefined {
  if (process.platform !== "linux") return "the Secret Service test runs on Linux";
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) {
    return "no D-Bus session (run inside dbus-run-session with gnome-keyring unlocked, as .ci/run does)";
  }
  const r = spawnSync("secret-tool", ["lookup", "service", "ccmux-probe", "account", "probe"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (r.error) {
    return `secret-tool cannot run (${
      (r.error as NodeJS.ErrnoException).code
    }; Debian: libsecret-tools)`;
  }
  if (r.status !== 0 && r.stderr.trim() !== "") {
    return `the Secret Service does not answer: ${r.stderr.trim()}`;
  }
  return undefined;
}

const why = unavailable();

/** The session's variables ccmux needs to reach the keyring (baseEnv drops the rest). */
function sessionEnv(home: string): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const k of ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"]) {
    if (process.env[k]) extra[k] = process.env[k]!;
  }
  return baseEnv(home, extra);
}

function lookup(account: string): string {
  const r = spawnSync("secret-tool", ["lookup", "service", "ccmux", "account", account], {
    encoding: "utf8",
    timeout: 10_000,
  });
  return r.status === 0 ? r.stdout.trim() : "";
}

test(
  "the real Secret Service: auto picks it and says so, a new key lives only there, token and status work; no D-Bus is a clear exit 1",
  {
    skip: why ?? false,
    timeout: 300_000,
  },
  async () => {
    const stub = await startOAuthStub();
    const h = tempHome();
    try {
      const old = record("claude-max", stub.seed(), -60);
      const files = writeSetup(h.dir, stub.tokenUrl, { "claude-max": old });
      writeFileSync(
        files.config,
        readFileSync(files.config, "utf8") + '\n[auth]\nstore = "encrypted"\n',
      );
      const env = sessionEnv(h.dir);
      assert.equal(lookup(files.tokens), "", "a fresh account in the keyring");

      const m = await runCli(["tokens", "migrate", "--to", "encrypted"], { env });
      assert.equal(m.code, 0, m.stderr);
      assert.match(
        m.stderr,
        /key from the Secret Service \(secret-tool\) \(key_source "auto" picked the keychain\)/,
      );
      const stored = lookup(files.tokens);
      assert.equal(atob(stored).length, 32, "a 32-byte key in the keyring under the file's path");
      assert.ok(!readFileSync(files.tokens, "utf8").includes(stored), "the key is not in the file");
      assertNoTokensIn(files.tokens, [old.access_token, old.refresh_token]);

      // An expired token: refreshed under the lock, the rotated tokens sealed with the keyring's key.
      const t = await runCli(["token", "claude-max"], { env });
      assert.equal(t.code, 0, t.stderr);
      assert.equal(t.stdout, `${stub.issued[0]}\n`);
      assert.equal(stub.refreshCount, 1);
      assertNoTokensIn(files.tokens, [...stub.issued, old.refresh_token]);
      const st = await runCli(["status", "--json"], { env });
      assert.equal(st.code, 0, st.stderr);
      assert.equal(JSON.parse(st.stdout)[0].id, "claude-max");

      // key_source = "keychain" outside the D-Bus session: exit 1 naming the keychain, untouched.
      writeFileSync(files.config, readFileSync(files.config, "utf8") + 'key_source = "keychain"\n');
      const before = readFileSync(files.tokens);
      const off = await runCli(["token", "claude-max"], { env: baseEnv(h.dir) });
      assert.equal(off.code, 1, off.stderr);
      assert.match(off.stderr, /cannot read its key from the Secret Service \(secret-tool\)/);
      assert.deepEqual(readFileSync(files.tokens), before);
      // And back in the session, with key_source = "keychain": the same key.
      const on = await runCli(["token", "claude-max"], { env });
      assert.equal(on.code, 0, on.stderr);
      assert.equal(on.stdout, `${stub.issued[0]}\n`);
    } finally {
      spawnSync("secret-tool", [
        "clear",
        "service",
        "ccmux",
        "account",
        join(h.dir, "oauth_tokens.json"),
      ]);
      await stub.close();
      h.cleanup();
    }
  },
);
