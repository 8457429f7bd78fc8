// `ccmux token`, `status` and `logout` as child processes against the stub OAuth server:
// cross-process single refresh, SIGKILL while holding the lock or mid-write, corrupt files,
// dead refresh tokens, network failures, output formats, revocation. The cross-process tests run
// on both stores (the plain file and the encrypted one).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { spawn } from "node:child_process";
import {
  baseEnv,
  cliCommand,
  collect,
  runCli,
  startCli,
  tempHome,
  waitForLine,
} from "./helpers/cli.ts";
import { type OAuthStub, startOAuthStub } from "./helpers/oauth_stub.ts";
import { assertNoSecrets, record, writeSetup } from "./helpers/token_files.ts";
import { startRedirectStub } from "./helpers/redirect_stub.ts";
import type { TokenFile } from "../src/auth/types.ts";
import { assertNoTokensIn, readDoc, type Store, STORES, useEncrypted } from "./helpers/sealed.ts";

const T = 90_000; // child processes on a busy 2-core machine: generous

async function setup(
  doc: (stub: OAuthStub) => TokenFile,
  oauth: Record<string, Record<string, string>> = {},
  store: Store = "file",
) {
  const stub = await startOAuthStub();
  const h = tempHome();
  const d = doc(stub);
  const files = writeSetup(h.dir, stub.tokenUrl, d, oauth);
  const sealed = store === "encrypted" ? await useEncrypted(files) : undefined;
  const env = baseEnv(h.dir, sealed?.env);
  const secrets = () => [
    ...stub.issued,
    ...Object.values(d).flatMap((r) => [r.access_token, r.refresh_token]),
    ...Object.values(readTokens(files.tokens)).flatMap((r) => [r.refresh_token]),
  ];
  return {
    stub,
    home: h.dir,
    env,
    ...files,
    secrets,
    /** The token file's accounts (decrypted on the encrypted store). */
    read: () => readDoc(files.tokens, sealed?.key),
    /** On the encrypted store: no token in the file, in clear or encoded. */
    assertSealed: () => {
      if (sealed) assertNoTokensIn(files.tokens, secrets());
    },
    cleanup: async () => {
      await stub.close();
      h.cleanup();
    },
  };
}

function readTokens(path: string): TokenFile {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return {};
  }
}

/** The home folder's files, without the runtime's own caches (Deno writes $HOME/.cache). */
const tokenDirFiles = (home: string) => readdirSync(home).filter((n) => !n.startsWith(".")).sort();

const cli = (args: string[], env: Record<string, string>) => runCli(args, { env, timeoutMs: T });

for (const store of STORES) {
  describe(`ccmux token across processes (store ${store})`, { timeout: 300_000 }, () => {
    test("10 processes at once on an expired token: one refresh, same token for all", async () => {
      const s = await setup(
        (stub) => ({ "claude-max": record("claude-max", stub.seed(), -60) }),
        {},
        store,
      );
      try {
        s.stub.setDelay(300); // widen the window in which the processes overlap
        const results = await Promise.all(
          Array.from({ length: 10 }, () => cli(["token", "claude-max"], s.env)),
        );
        for (const r of results) {
          assert.equal(r.code, 0, "a process failed (stderr withheld: may not show tokens)");
          assertNoSecrets(r.stderr, s.secrets());
        }
        assert.equal(s.stub.refreshCount, 1);
        assert.equal(s.stub.tokenRequests.length, 1);
        const printed = new Set(results.map((r) => r.stdout));
        assert.equal(printed.size, 1);
        assert.equal([...printed][0], `${s.stub.issued[0]}\n`);
        const doc = await s.read();
        assert.equal(doc["claude-max"].access_token, s.stub.issued[0]);
        assert.equal(statSync(s.tokens).mode & 0o777, 0o600);
        s.assertSealed();
        assert.deepEqual(tokenDirFiles(s.home), ["config.toml", "oauth_tokens.json"]);
      } finally {
        await s.cleanup();
      }
    });

    test("SIGKILL while holding the lock: file intact, the next command proceeds", async () => {
      const s = await setup(
        (stub) => ({ "claude-max": record("claude-max", stub.seed(), -60) }),
        {},
        store,
      );
      try {
        const before = readFileSync(s.tokens, "utf8");
        const child = startCli(["token", "claude-max"], {
          env: { ...s.env, CCMUX_TEST_HOLD_LOCK_MS: "120000" },
        });
        child.stdin!.end();
        const done = collect(child, T);
        await waitForLine(child, /holding the token file lock/, T);
        child.kill("SIGKILL");
        const killed = await done;
        assert.equal(killed.signal, "SIGKILL");
        assert.equal(readFileSync(s.tokens, "utf8"), before);
        assert.equal(s.stub.refreshCount, 0);
        // The lock file names a dead PID: taken over at once (not after the 30 s wait).
        const next = await cli(["token", "claude-max"], {
          ...s.env,
          CCMUX_LOCK_TIMEOUT_MS: "5000",
        });
        assert.equal(next.code, 0);
        assert.equal(next.stdout, `${s.stub.issued[0]}\n`);
        assert.equal(s.stub.refreshCount, 1);
        s.assertSealed();
      } finally {
        await s.cleanup();
      }
    });

    test("SIGKILL mid-write: old file intact, temp file cleaned up, the next command proceeds", async () => {
      const s = await setup(
        (stub) => ({
          "claude-max": record("claude-max", stub.seed(), -60),
          "other": record("other", stub.seed(), 3600),
        }),
        {},
        store,
      );
      try {
        const before = readFileSync(s.tokens, "utf8");
        // logout writes the file without spending a refresh token; hold it after the temp file
        // is written and fsynced, before the rename.
        const child = startCli(["logout", "other"], {
          env: { ...s.env, CCMUX_TEST_HOLD_WRITE_MS: "120000" },
        });
        child.stdin!.end();
        const done = collect(child, T);
        await waitForLine(child, /holding a written temp file/, T);
        child.kill("SIGKILL");
        await done;
        assert.equal(readFileSync(s.tokens, "utf8"), before);
        assert.equal(s.stub.revocations.length, 0);
        const next = await cli(["token", "claude-max"], {
          ...s.env,
          CCMUX_LOCK_TIMEOUT_MS: "5000",
        });
        assert.equal(next.code, 0);
        assert.equal(next.stdout, `${s.stub.issued[0]}\n`);
        const doc = await s.read();
        assert.ok(doc.other, "the killed logout did not happen");
        assert.deepEqual(tokenDirFiles(s.home), ["config.toml", "oauth_tokens.json"]);
        s.assertSealed();
      } finally {
        await s.cleanup();
      }
    });
  });
}

describe("file and folder permissions (as ssh)", { timeout: 300_000 }, () => {
  const posix = process.platform !== "win32";

  test("a token file readable by others is fixed to 0600 with a warning naming it", {
    skip: posix ? false : "POSIX modes",
  }, async () => {
    const s = await setup((stub) => ({ good: record("good", stub.seed(), 3600) }));
    try {
      chmodSync(s.tokens, 0o644);
      const r = await cli(["token", "good"], s.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${readTokens(s.tokens).good.access_token}\n`);
      assert.equal(
        r.stderr,
        `ccmux: warning: the token file ${s.tokens} was accessible by others (mode 0644); ` +
          "its mode is now 0600\n",
      );
      assert.equal(statSync(s.tokens).mode & 0o777, 0o600);
      const again = await cli(["status"], s.env);
      assert.equal(again.code, 0);
      assert.equal(again.stderr, "", "warned twice");
    } finally {
      await s.cleanup();
    }
  });

  for (const mode of [0o777, 0o770, 0o1777]) {
    test(`a home folder with mode ${mode.toString(8)} is refused (token, status, logout)`, {
      skip: posix ? false : "POSIX modes",
    }, async () => {
      const s = await setup((stub) => ({ good: record("good", stub.seed(), 3600) }));
      try {
        const before = readFileSync(s.tokens, "utf8");
        chmodSync(s.home, mode);
        for (
          const args of [["token", "good"], ["status"], ["logout", "good"], ["token", "--refresh"]]
        ) {
          const r = await cli(args, s.env);
          assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
          assert.equal(r.stdout, "");
          assert.match(r.stderr, /writable by (group|others|group and others) \(mode 0[0-7]{3}\)/);
          assert.ok(r.stderr.includes(`run: chmod 700 ${s.home}`), r.stderr);
        }
        assert.equal(readFileSync(s.tokens, "utf8"), before);
        assert.equal(s.stub.tokenRequests.length, 0);
        assert.deepEqual(tokenDirFiles(s.home), ["config.toml", "oauth_tokens.json"]);
      } finally {
        chmodSync(s.home, 0o700);
        await s.cleanup();
      }
    });
  }

  test("a token file or lock file planted by another user is refused", {
    skip: posix && process.getuid?.() === 0 ? false : "needs root to create another user's files",
  }, async () => {
    const s = await setup((stub) => ({ good: record("good", stub.seed(), -60) }));
    try {
      // A lock naming a live process (PID 1), owned by uid 65534 (nobody).
      writeFileSync(`${s.tokens}.lock`, "1\n");
      chownSync(`${s.tokens}.lock`, 65534, 65534);
      const r = await cli(["token", "good"], { ...s.env, CCMUX_LOCK_TIMEOUT_MS: "20000" });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /\.lock belongs to another user \(uid 65534\)/);
      assert.equal(s.stub.refreshCount, 0);
      chownSync(s.tokens, 65534, 65534);
      const t = await cli(["token", "good"], s.env);
      assert.equal(t.code, 1);
      assert.match(t.stderr, /oauth_tokens\.json: it belongs to another user \(uid 65534\)/);
    } finally {
      await s.cleanup();
    }
  });
});

describe("ccmux token: odd lock files", { timeout: 300_000 }, () => {
  test("a dangling symlink at the lock path: exit 1 naming it, no spin, no temp files left", async () => {
    const s = await setup((stub) => ({ "claude-max": record("claude-max", stub.seed(), 3600) }));
    try {
      symlinkSync(`${s.home}/no-such-target`, `${s.tokens}.lock`);
      const started = Date.now();
      // Without the fix this never returns (collect's timeout fails the test).
      const r = await runCli(["token", "--refresh", "claude-max"], {
        env: { ...s.env, CCMUX_LOCK_TIMEOUT_MS: "1500" },
        timeoutMs: 30_000,
      });
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.stderr.includes(`${s.tokens}.lock`), r.stderr);
      assert.match(r.stderr, /is a symbolic link/);
      assert.ok(Date.now() - started < 25_000);
      assert.equal(s.stub.refreshCount, 0);
      assert.deepEqual(
        tokenDirFiles(s.home).filter((n) => n.endsWith(".tmp")),
        [],
        "temp files left behind",
      );
    } finally {
      await s.cleanup();
    }
  });
});

describe("ccmux token", { timeout: 300_000 }, () => {
  test("fresh token: bare token, --json, --env; no refresh", async () => {
    const s = await setup((stub) => ({ "claude-max": record("claude-max", stub.seed(), 3600) }));
    try {
      const rec = readTokens(s.tokens)["claude-max"];
      const bare = await cli(["token", "claude-max"], s.env);
      assert.equal(bare.code, 0);
      assert.equal(bare.stdout, `${rec.access_token}\n`);
      assert.equal(bare.stderr, "");
      const omitted = await cli(["token"], s.env);
      assert.equal(omitted.stdout, `${rec.access_token}\n`, "ID may be left out with one account");
      const json = await cli(["token", "claude-max", "--json"], s.env);
      assert.equal(json.code, 0);
      assert.deepEqual(JSON.parse(json.stdout), {
        id: "claude-max",
        access_token: rec.access_token,
        token_type: "bearer",
        expires_at: rec.expires_at,
        scopes: rec.scopes,
      });
      const env = await cli(["token", "--env", "claude-max"], s.env);
      assert.equal(env.stdout, `export ANTHROPIC_AUTH_TOKEN='${rec.access_token}'\n`);
      const both = await cli(["token", "--env", "--json"], s.env);
      assert.equal(both.code, 2);
      assert.equal(both.stdout, "");
      assert.equal(s.stub.tokenRequests.length, 0);
    } finally {
      await s.cleanup();
    }
  });

  test("--refresh refreshes a fresh token; with umask 000 the file stays 0600", async () => {
    const s = await setup((stub) => ({ "claude-max": record("claude-max", stub.seed(), 3600) }));
    try {
      const [cmd, pre] = cliCommand();
      const child = spawn(
        "/bin/sh",
        ["-c", 'umask 000; exec "$@"', "sh", cmd, ...pre, "token", "--refresh"],
        { env: s.env, stdio: ["pipe", "pipe", "pipe"] },
      );
      child.stdin!.end();
      const r = await collect(child, T);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `${s.stub.issued[0]}\n`);
      assert.equal(s.stub.refreshCount, 1);
      assert.equal(statSync(s.tokens).mode & 0o777, 0o600);
    } finally {
      await s.cleanup();
    }
  });

  test("several accounts and no ID: usage error listing them; unknown ID: exit 4", async () => {
    const s = await setup((stub) => ({
      b: record("b", stub.seed(), 3600),
      a: record("a", stub.seed(), 3600),
    }));
    try {
      const r = await cli(["token"], s.env);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^ccmux: .*\ba, b\b/);
      const u = await cli(["token", "nope"], s.env);
      assert.equal(u.code, 4);
      assert.match(u.stderr, /run: ccmux login nope/);
      for (const x of [r, u]) {
        assert.equal(x.stdout, "");
        assertNoSecrets(x.stderr, s.secrets());
      }
    } finally {
      await s.cleanup();
    }
  });

  test("dead refresh token: exit 4 with the login hint; status shows needs_login", async () => {
    const s = await setup(() => ({ "claude-max": record("claude-max", "rt-never-issued", -60) }));
    try {
      const r = await cli(["token", "claude-max"], s.env);
      assert.equal(r.code, 4);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /invalid_grant/);
      assert.match(r.stderr, /run: ccmux login claude-max\n$/);
      assertNoSecrets(r.stderr, s.secrets());
      const st = await cli(["status", "--json"], s.env);
      assert.equal(st.code, 0);
      const [row] = JSON.parse(st.stdout);
      assert.equal(row.needs_login, true);
      assert.equal(row.refreshable, false);
    } finally {
      await s.cleanup();
    }
  });

  test("network failure: exit 1, file byte-for-byte unchanged", async () => {
    const s = await setup((stub) => ({ "claude-max": record("claude-max", stub.seed(), -60) }));
    try {
      await s.stub.close();
      const before = readFileSync(s.tokens, "utf8");
      const r = await cli(["token", "claude-max"], s.env);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^ccmux: cannot reach http:\/\/127\.0\.0\.1:\d+/);
      assertNoSecrets(r.stderr, s.secrets());
      assert.equal(readFileSync(s.tokens, "utf8"), before);
    } finally {
      await s.cleanup();
    }
  });

  for (
    const [name, text] of [
      ["truncated JSON", '{"claude-max": {"access_token": "sk-ant-oat-SECRET'],
      ["wrong shape", '["sk-ant-oat-SECRET"]'],
    ]
  ) {
    test(`corrupt token file (${name}): exit 1 naming the path, file unchanged`, async () => {
      const s = await setup(() => ({}));
      try {
        writeFileSync(s.tokens, text);
        for (const args of [["token", "claude-max"], ["status"], ["logout", "claude-max"]]) {
          const r = await cli(args, s.env);
          assert.equal(r.code, 1, args.join(" "));
          assert.ok(r.stderr.includes(s.tokens), r.stderr);
          assert.ok(!r.stderr.includes("SECRET"));
          assert.equal(r.stdout, "");
          assert.equal(readFileSync(s.tokens, "utf8"), text);
        }
      } finally {
        await s.cleanup();
      }
    });
  }

  test("one malformed account: status shows it broken, token for the others works, logout removes it", async () => {
    const s = await setup((stub) => ({ good: record("good", stub.seed(), 3600) }));
    try {
      const doc = readTokens(s.tokens) as Record<string, unknown>;
      doc.bad = { provider_id: "bad", access_token: null, refresh_token: "sk-ant-ort-SECRET" };
      writeFileSync(s.tokens, JSON.stringify(doc), { mode: 0o600 });
      writeFileSync(
        s.config,
        readFileSync(s.config, "utf8") +
          `\n[oauth.bad]\nkind = "anthropic"\ntoken_url = "${s.stub.tokenUrl}"\n`,
      );
      const good = readTokens(s.tokens).good.access_token;

      const st = await cli(["status"], s.env);
      assert.equal(st.code, 0, st.stderr);
      assert.match(
        st.stdout,
        /^bad\s.*broken \(access_token is missing or not a string\): ccmux logout bad, then ccmux login bad$/m,
      );
      assert.match(st.stdout, /^good\s+anthropic\s+in /m);
      const sj = await cli(["status", "--json"], s.env);
      assert.equal(sj.code, 0);
      const rows = JSON.parse(sj.stdout);
      assert.equal(rows[0].id, "bad");
      assert.equal(rows[0].needs_login, true);
      assert.equal(rows[0].refreshable, false);
      assert.match(rows[0].broken, /access_token/);
      assert.equal(rows[1].broken, undefined);

      const tg = await cli(["token", "good"], s.env);
      assert.equal(tg.code, 0, tg.stderr);
      assert.equal(tg.stdout, `${good}\n`);
      const tb = await cli(["token", "bad"], s.env);
      assert.equal(tb.code, 4);
      assert.equal(tb.stdout, "");
      assert.match(tb.stderr, /malformed .*ccmux logout bad, then .*ccmux login bad\n$/);

      const lo = await cli(["logout", "bad"], s.env);
      assert.equal(lo.code, 0, lo.stderr);
      assert.deepEqual(Object.keys(readTokens(s.tokens)), ["good"]);
      assert.equal(s.stub.revocations.length, 1, "the refresh token that was there is revoked");
      for (const r of [st, sj, tg, tb, lo]) assert.ok(!(r.stdout + r.stderr).includes("SECRET"));
    } finally {
      await s.cleanup();
    }
  });

  test("a broken config: exit 1 with its message", async () => {
    const s = await setup(() => ({}));
    try {
      writeFileSync(s.config, "[auth]\nrefresh_skew = 1\n");
      for (const args of [["token", "x"], ["status"], ["logout", "x"]]) {
        const r = await cli([...args, "--config", s.config], s.env);
        assert.equal(r.code, 1, args[0]);
        assert.match(r.stderr, /auth\.refresh_skew/);
      }
    } finally {
      await s.cleanup();
    }
  });
});

describe("ccmux status and logout", { timeout: 300_000 }, () => {
  test("status: table and --json without secrets", async () => {
    const s = await setup((stub) => ({
      "claude-max": record("claude-max", stub.seed(), 7200, { account: { email: "a@b.c" } }),
      "old": record("old", undefined, -120, { kind: "openai" }),
    }));
    try {
      const t = await cli(["status"], s.env);
      assert.equal(t.code, 0);
      assertNoSecrets(t.stdout + t.stderr, s.secrets());
      assert.match(t.stdout, /^ACCOUNT\s+KIND\s+EXPIRES/);
      assert.match(
        t.stdout,
        /claude-max\s+anthropic\s+in 1h 59m \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)/,
      );
      assert.match(t.stdout, /old\s+openai\s+expired 2m ago/);
      const j = await cli(["status", "--json"], s.env);
      assertNoSecrets(j.stdout + j.stderr, s.secrets());
      const rows = JSON.parse(j.stdout);
      assert.deepEqual(rows.map((r: { id: string }) => r.id), ["claude-max", "old"]);
      assert.deepEqual(Object.keys(rows[0]).sort(), [
        "expires_at",
        "expires_in_s",
        "id",
        "kind",
        "needs_login",
        "refreshable",
        "scopes",
      ]);
      assert.equal(rows[0].refreshable, true);
      assert.ok(rows[0].expires_in_s > 7000 && rows[0].expires_in_s <= 7200);
      assert.equal(rows[1].refreshable, false);
      assert.ok(rows[1].expires_in_s < 0);
    } finally {
      await s.cleanup();
    }
  });

  test("logout: removes the account and revokes it (anthropic: JSON at {token_url}/revoke)", async () => {
    const s = await setup((stub) => ({
      "claude-max": record("claude-max", stub.seed(), 3600),
      "keep": record("keep", stub.seed(), 3600),
    }));
    try {
      const rt = readTokens(s.tokens)["claude-max"].refresh_token;
      const r = await cli(["logout", "claude-max"], s.env);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, "");
      assertNoSecrets(r.stderr, s.secrets());
      assert.deepEqual(Object.keys(readTokens(s.tokens)), ["keep"]);
      assert.equal(s.stub.revocations.length, 1);
      const rev = s.stub.revocations[0];
      assert.equal(rev.path, new URL(s.stub.revokeUrl).pathname);
      assert.match(rev.contentType, /application\/json/);
      assert.deepEqual(rev.body, {
        token: rt,
        token_type_hint: "refresh_token",
        client_id: "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
      });
      const again = await cli(["logout", "claude-max"], s.env);
      assert.equal(again.code, 4);
      assert.match(again.stderr, /no account 'claude-max'/);
      const missing = await cli(["logout"], s.env);
      assert.equal(missing.code, 2);
    } finally {
      await s.cleanup();
    }
  });

  test("logout: RFC 7009 form revoke for other kinds; a failed revoke is a warning", async () => {
    const s = await setup(
      (stub) => ({ corp: record("corp", stub.seed(), 3600, { kind: "oidc" }) }),
      { corp: { client_id: "corp-client", authorize_url: "http://127.0.0.1:9/authorize" } },
    );
    try {
      writeFileSync(
        s.config,
        readFileSync(s.config, "utf8") + `revoke_url = "${s.stub.url}/oauth/revoke"\n`,
      );
      s.stub.setRevokeStatus(503);
      const r = await cli(["logout", "corp"], s.env);
      assert.equal(r.code, 0);
      assert.match(r.stderr, /warning: .*revok.*HTTP 503/);
      assertNoSecrets(r.stderr, s.secrets());
      assert.deepEqual(readTokens(s.tokens), {});
      const rev = s.stub.revocations[0];
      assert.equal(rev.path, "/oauth/revoke");
      assert.match(rev.contentType, /x-www-form-urlencoded/);
      assert.equal(rev.body.token_type_hint, "refresh_token");
      assert.equal(rev.body.client_id, "corp-client");
    } finally {
      await s.cleanup();
    }
  });
});

describe("OAuth endpoints that redirect", { timeout: 300_000 }, () => {
  const REFUSED = /HTTP 307 \(a redirect to http:\/\/127\.0\.0\.1:\d+\)[^\n]*does not follow/;

  test("refresh: a 307 from the token endpoint fails clearly; nothing reaches the Location", async () => {
    const r = await startRedirectStub();
    const s = await setup((stub) => ({ "claude-max": record("claude-max", stub.seed(), -60) }), {
      "claude-max": { token_url: `${r.url}/v1/oauth/token` },
    });
    try {
      const before = readFileSync(s.tokens, "utf8");
      const out = await cli(["token", "claude-max"], s.env);
      assert.equal(out.code, 1);
      assert.equal(out.stdout, "");
      assert.match(out.stderr, REFUSED);
      assertNoSecrets(out.stderr, s.secrets());
      assert.equal(r.redirected.length, 1);
      assert.deepEqual(r.targetRequests, []);
      assert.equal(readFileSync(s.tokens, "utf8"), before);
    } finally {
      await r.close();
      await s.cleanup();
    }
  });

  test("refresh: a redirect from oidc discovery fails clearly; nothing reaches the Location", async () => {
    const r = await startRedirectStub(302);
    const s = await setup(
      (stub) => ({ corp: record("corp", stub.seed(), -60, { kind: "oidc" }) }),
      { corp: { client_id: "corp-client", issuer: r.url } },
    );
    try {
      // The oidc account has no token_url: the refresh must discover it at the issuer.
      writeFileSync(s.config, readFileSync(s.config, "utf8").replace(/^token_url = .*\n/m, ""));
      const out = await cli(["token", "corp"], s.env);
      assert.equal(out.code, 1);
      assert.match(
        out.stderr,
        /discovery at http:\/\/127\.0\.0\.1:\d+ failed: .*HTTP 302 \(a redirect/,
      );
      assert.ok(r.redirected.some((p) => p.startsWith("/.well-known/")), r.redirected.join());
      assert.deepEqual(r.targetRequests, []);
    } finally {
      await r.close();
      await s.cleanup();
    }
  });

  test("logout: a 307 from the revoke endpoint is a failed revoke; the token is not re-sent", async () => {
    const r = await startRedirectStub();
    const s = await setup((stub) => ({ "claude-max": record("claude-max", stub.seed(), 3600) }));
    try {
      writeFileSync(
        s.config,
        readFileSync(s.config, "utf8") + `revoke_url = "${r.url}/v1/oauth/token/revoke"\n`,
      );
      const out = await cli(["logout", "claude-max"], s.env);
      assert.equal(out.code, 0);
      assert.match(out.stderr, /warning: removed 'claude-max' locally, but revoking it failed: /);
      assert.match(out.stderr, REFUSED);
      assert.doesNotMatch(out.stderr, /token revoked/);
      assertNoSecrets(out.stderr, s.secrets());
      assert.equal(r.redirected.length, 1);
      assert.deepEqual(r.targetRequests, [], "the refresh token was re-POSTed to the Location");
      assert.deepEqual(readTokens(s.tokens), {});
    } finally {
      await r.close();
      await s.cleanup();
    }
  });
});
