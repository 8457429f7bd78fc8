// The token store and TokenManager in-process: file format, modes, corrupt files, locks,
// single-flight refresh against the stub OAuth server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { accountProblem, TokenFileError, TokenStore } from "../src/auth/token_store.ts";
import { LoginRequiredError, RefreshError, TokenManager } from "../src/auth/refresh.ts";
import { holderGone, LockTimeoutError, MAX_LOCK_AGE_MS, processStartMs } from "../src/auth/lock.ts";
import { loadConfig } from "../src/config/mod.ts";
import { tempHome } from "./helpers/cli.ts";
import { type OAuthStub, startOAuthStub } from "./helpers/oauth_stub.ts";
import { record, writeSetup } from "./helpers/token_files.ts";

async function withStub<T>(fn: (stub: OAuthStub) => Promise<T>): Promise<T> {
  const stub = await startOAuthStub();
  try {
    return await fn(stub);
  } finally {
    await stub.close();
  }
}

function managerFor(home: string, configPath: string, extra: { fetch?: typeof fetch } = {}) {
  const config = loadConfig({ env: { CCMUX_HOME: home, HOME: home }, file: configPath });
  return new TokenManager({ config, ...extra });
}

/** A PID that belonged to a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--version"], { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve(child.pid!));
  });
}

describe("TokenStore", () => {
  test("missing file reads as {}; update creates folder 0700 and file 0600, keeps fields", async () => {
    const h = tempHome();
    try {
      const path = join(h.dir, "new", "sub", "tokens.json");
      const store = new TokenStore(path);
      assert.deepEqual(await store.read(), {});
      await store.update((doc) => {
        doc.a = { provider_id: "a", access_token: "x", custom: { nested: [1, 2] } };
      });
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(h.dir, "new", "sub")).mode & 0o777, 0o700);
      await store.update((doc) => {
        doc.a.access_token = "y";
      });
      const rec = await store.get("a");
      assert.equal(rec?.access_token, "y");
      assert.deepEqual(rec?.custom, { nested: [1, 2] });
      assert.equal(await store.get("b"), undefined);
      assert.ok(!existsSync(`${path}.lock`), "lock released");
    } finally {
      h.cleanup();
    }
  });

  test("with umask 000: new folder 0700, file 0600", async () => {
    const h = tempHome();
    const old = process.umask(0);
    try {
      const path = join(h.dir, "fresh", "tokens.json");
      await new TokenStore(path).update((doc) => {
        doc.a = { provider_id: "a", access_token: "x" };
      });
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(h.dir, "fresh")).mode & 0o777, 0o700);
    } finally {
      process.umask(old);
      h.cleanup();
    }
  });

  test("an existing file with a loose mode becomes 0600 on write", async () => {
    const h = tempHome();
    try {
      const path = join(h.dir, "tokens.json");
      writeFileSync(path, "{}", { mode: 0o644 });
      await new TokenStore(path).update((doc) => {
        doc.a = { provider_id: "a", access_token: "x" };
      });
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      h.cleanup();
    }
  });

  for (
    const [name, text] of [
      ["truncated JSON", '{"a": {"provider_id": "a", "access_token": "sk-secret-123'],
      ["an array", '[{"access_token": "sk-secret-123"}]'],
      ["a string", '"sk-secret-123"'],
    ]
  ) {
    test(`corrupt file (${name}): error names the path, file untouched, no content quoted`, async () => {
      const h = tempHome();
      try {
        const path = join(h.dir, "tokens.json");
        writeFileSync(path, text, { mode: 0o600 });
        const store = new TokenStore(path);
        const err = await store.read().then(() => undefined, (e) => e);
        assert.ok(err instanceof TokenFileError, String(err));
        assert.equal(err.path, path);
        assert.ok(err.message.includes(path));
        assert.ok(!err.message.includes("sk-secret"), "message must not quote the file");
        let called = false;
        await assert.rejects(
          store.update((doc) => {
            called = true;
            doc.b = { provider_id: "b", access_token: "z" };
          }),
          TokenFileError,
        );
        assert.equal(called, false);
        assert.equal(readFileSync(path, "utf8"), text);
      } finally {
        h.cleanup();
      }
    });
  }

  test("malformed accounts leave the file usable: the others read and update, they are kept", async () => {
    const h = tempHome();
    try {
      const path = join(h.dir, "tokens.json");
      const bad = {
        nulled: { provider_id: "nulled", access_token: null, refresh_token: "sk-secret-123" },
        text: "sk-secret-123",
        number: { access_token: 42 },
        scopes: { access_token: "sk-secret-123", scopes: "all" },
      };
      const good = { provider_id: "good", access_token: "x" };
      writeFileSync(path, JSON.stringify({ ...bad, good }), { mode: 0o600 });
      const store = new TokenStore(path);
      const doc = await store.read();
      assert.equal(accountProblem(doc.good), undefined);
      assert.equal(accountProblem(doc.nulled), "access_token is missing or not a string");
      assert.equal(accountProblem(doc.text), "it is not an object");
      assert.equal(accountProblem(doc.number), "access_token is missing or not a string");
      assert.equal(accountProblem(doc.scopes), "scopes is not an array");
      await store.update((d) => {
        d.other = { provider_id: "other", access_token: "y" };
      });
      const after = JSON.parse(readFileSync(path, "utf8"));
      for (const [id, value] of Object.entries(bad)) assert.deepEqual(after[id], value, id);
      assert.deepEqual(after.good, good);
      assert.equal(after.other.access_token, "y");
    } finally {
      h.cleanup();
    }
  });

  // A stale lock is taken over at once (a short timeout makes a wait fail the test): one left
  // by a dead process, and one naming our own PID (left by an earlier process with this PID).
  const staleHolders: [string, () => Promise<number>][] = [
    ["a dead process", deadPid],
    ["our own PID", () => Promise.resolve(process.pid)],
  ];
  for (const [name, holderPid] of staleHolders) {
    test(`a lock left by ${name} is taken over at once`, async () => {
      const h = tempHome();
      try {
        const path = join(h.dir, "tokens.json");
        writeFileSync(`${path}.lock`, `${await holderPid()}\n`);
        const store = new TokenStore(path, { lockTimeoutMs: 3_000 });
        await store.update((doc) => {
          doc.a = { provider_id: "a", access_token: "x" };
        });
        assert.equal((await store.get("a"))?.access_token, "x");
        assert.ok(!existsSync(`${path}.lock`));
      } finally {
        h.cleanup();
      }
    });
  }

  test("a lock whose PID now belongs to a process started later is taken over at once", {
    skip: process.platform === "linux" ? false : "process start times come from Linux's /proc",
  }, async () => {
    const h = tempHome();
    // A live, long-running process that is not the holder: the lock was taken an hour before
    // it started (a PID reused after a reboot or container restart).
    const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await new Promise((r) => sleeper.on("spawn", r));
      const path = join(h.dir, "tokens.json");
      writeFileSync(`${path}.lock`, `${sleeper.pid}\n`);
      const hourAgo = new Date(Date.now() - 3600_000);
      utimesSync(`${path}.lock`, hourAgo, hourAgo);
      const store = new TokenStore(path, { lockTimeoutMs: 3_000 });
      await store.update((doc) => {
        doc.a = { provider_id: "a", access_token: "x" };
      });
      assert.equal((await store.get("a"))?.access_token, "x");
      assert.ok(!existsSync(`${path}.lock`));
    } finally {
      sleeper.kill("SIGKILL");
      h.cleanup();
    }
  });

  test("holderGone: dead PID, reused PID, and a bounded age where start times are unknown", async () => {
    const now = Date.now();
    const live = process.pid;
    const unknown = () => undefined;
    assert.equal(holderGone(await deadPid(), now), true);
    // Start time known: the holder is gone when the PID's process started after the lock.
    assert.equal(holderGone(live, now, { startMs: () => now + 60_000 }), true);
    assert.equal(holderGone(live, now, { startMs: () => now - 60_000 }), false);
    // Unknown (no /proc): a live PID holds the lock until it is older than MAX_LOCK_AGE_MS.
    assert.equal(holderGone(live, now - 60_000, { now, startMs: unknown }), false);
    assert.equal(holderGone(live, now - MAX_LOCK_AGE_MS - 1, { now, startMs: unknown }), true);
    if (process.platform === "linux") {
      const started = processStartMs(process.pid);
      assert.ok(started !== undefined && started <= Date.now() && started > now - 3600_000);
      // Our own lock, written now, is held by a live process that started before it.
      assert.equal(holderGone(process.pid, Date.now()), false);
    }
  });

  test("a live holder is waited for, then the error names its PID", async () => {
    const h = tempHome();
    // A live process that is not us.
    const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const path = join(h.dir, "tokens.json");
      writeFileSync(`${path}.lock`, `${sleeper.pid}\n`);
      const store = new TokenStore(path, { lockTimeoutMs: 300 });
      const err = await store.update(() => {}).then(() => undefined, (e) => e);
      assert.ok(err instanceof LockTimeoutError, String(err));
      assert.match(err.message, new RegExp(`process ${sleeper.pid}\\b`));
      assert.equal(readFileSync(`${path}.lock`, "utf8").trim(), String(sleeper.pid));
    } finally {
      sleeper.kill("SIGKILL");
      await new Promise((r) => sleeper.exitCode !== null ? r(null) : sleeper.on("exit", r));
      h.cleanup();
    }
  });

  test("concurrent updates in one process are serialised (no lost writes)", async () => {
    const h = tempHome();
    try {
      const store = new TokenStore(join(h.dir, "tokens.json"));
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.update(async (doc) => {
            await new Promise((r) => setTimeout(r, 1));
            doc[`acct${i}`] = { provider_id: `acct${i}`, access_token: String(i) };
          })),
      );
      assert.equal(Object.keys(await store.read()).length, 50);
    } finally {
      h.cleanup();
    }
  });
});

describe("TokenManager", () => {
  test("200 concurrent accessToken() calls on an expired token: one refresh", async () => {
    await withStub(async (stub) => {
      const h = tempHome();
      try {
        stub.setDelay(200);
        const old = record("claude-max", stub.seed(), -60, { extra_field: "kept" });
        const { config } = writeSetup(h.dir, stub.tokenUrl, { "claude-max": old });
        const tm = managerFor(h.dir, config);
        const recs = await Promise.all(
          Array.from({ length: 200 }, () => tm.accessToken("claude-max")),
        );
        assert.equal(stub.refreshCount, 1);
        assert.equal(stub.tokenRequests.length, 1);
        assert.equal(new Set(recs.map((r) => r.access_token)).size, 1);
        assert.equal(recs[0].access_token, stub.issued[0]);
        // anthropic kinds refresh with a JSON body
        const req = stub.tokenRequests[0];
        assert.match(req.contentType, /application\/json/);
        assert.deepEqual(Object.keys(req.body).sort(), [
          "client_id",
          "grant_type",
          "refresh_token",
        ]);
        assert.equal(req.body.refresh_token, old.refresh_token);
        // persisted: rotated refresh token, new expiry, unknown fields kept
        const onDisk = JSON.parse(readFileSync(join(h.dir, "oauth_tokens.json"), "utf8"));
        const rec = onDisk["claude-max"];
        assert.equal(rec.access_token, stub.issued[0]);
        assert.notEqual(rec.refresh_token, old.refresh_token);
        assert.ok(Date.parse(rec.expires_at) > Date.now() + 3600_000);
        assert.equal(rec.extra_field, "kept");
        assert.deepEqual(rec.scopes, ["user:inference", "user:profile"]);
        // fresh now: no further refresh
        await tm.accessToken("claude-max");
        assert.equal(stub.refreshCount, 1);
      } finally {
        h.cleanup();
      }
    });
  });

  test("refreshAfterReject: N concurrent callers, one refresh; a stale rejection refreshes nothing", async () => {
    await withStub(async (stub) => {
      const h = tempHome();
      try {
        stub.setDelay(100);
        const old = record("claude-max", stub.seed(), 3600);
        const { config } = writeSetup(h.dir, stub.tokenUrl, { "claude-max": old });
        const tm = managerFor(h.dir, config);
        const recs = await Promise.all(
          Array.from({ length: 20 }, () => tm.refreshAfterReject("claude-max", old.access_token)),
        );
        assert.equal(stub.refreshCount, 1);
        assert.equal(new Set(recs.map((r) => r.access_token)).size, 1);
        const again = await tm.refreshAfterReject("claude-max", old.access_token);
        assert.equal(again.access_token, recs[0].access_token);
        assert.equal(stub.refreshCount, 1);
        // A second manager (another process's view) sees the refreshed token without a call.
        const other = managerFor(h.dir, config);
        assert.equal((await other.accessToken("claude-max")).access_token, recs[0].access_token);
        assert.equal(stub.refreshCount, 1);
      } finally {
        h.cleanup();
      }
    });
  });

  test("force refreshes a fresh token; a form-body kind sends RFC 6749 form", async () => {
    await withStub(async (stub) => {
      const h = tempHome();
      try {
        const old = record("corp", stub.seed(), 3600, { kind: "oidc" });
        const { config } = writeSetup(h.dir, stub.tokenUrl, { corp: old }, {
          corp: { client_id: "corp-client", authorize_url: `${stub.url}/authorize` },
        });
        const tm = managerFor(h.dir, config);
        assert.equal((await tm.accessToken("corp")).access_token, old.access_token);
        assert.equal(stub.refreshCount, 0);
        const rec = await tm.accessToken("corp", { force: true });
        assert.equal(stub.refreshCount, 1);
        assert.notEqual(rec.access_token, old.access_token);
        assert.match(stub.tokenRequests[0].contentType, /x-www-form-urlencoded/);
        assert.equal(stub.tokenRequests[0].body.client_id, "corp-client");
      } finally {
        h.cleanup();
      }
    });
  });

  test("openai kind: JSON refresh, id_token checked against the issuer and kept", async () => {
    const stub = await startOAuthStub({
      idTokenClaims: {
        iss: "https://auth.openai.com",
        aud: "app_EMoamEEZ73f0CkXaXp7hrann",
        sub: "user-1",
      },
    });
    const h = tempHome();
    try {
      const old = record("codex", stub.seed(), -10, { kind: "openai" });
      const { config, tokens } = writeSetup(h.dir, stub.tokenUrl, { codex: old });
      const rec = await managerFor(h.dir, config).accessToken("codex");
      assert.equal(rec.access_token, stub.issued[0]);
      assert.match(stub.tokenRequests[0].contentType, /application\/json/);
      assert.equal(typeof JSON.parse(readFileSync(tokens, "utf8")).codex.id_token, "string");
    } finally {
      await stub.close();
      h.cleanup();
    }
  });

  test("an id_token with the wrong issuer fails the refresh; the rotated refresh token is kept", async () => {
    const stub = await startOAuthStub({
      idTokenClaims: { iss: "https://evil.example", aud: "app_EMoamEEZ73f0CkXaXp7hrann", sub: "u" },
    });
    const h = tempHome();
    try {
      const old = record("codex", stub.seed(), -10, { kind: "openai" });
      const { config, tokens } = writeSetup(h.dir, stub.tokenUrl, { codex: old });
      const err = await managerFor(h.dir, config).accessToken("codex").then(() => 0, (e) => e);
      assert.ok(err instanceof RefreshError, String(err));
      assert.match(err.message, /invalid token response/);
      const rec = JSON.parse(readFileSync(tokens, "utf8")).codex;
      assert.equal(rec.access_token, old.access_token, "the unverified access token is not used");
      assert.notEqual(rec.refresh_token, old.refresh_token, "the spent refresh token is replaced");
      assert.equal(stub.refreshCount, 1);
    } finally {
      await stub.close();
      h.cleanup();
    }
  });

  for (
    const [name, failure] of [
      ["invalid_grant", undefined],
      ["refresh_token_reused (openai shape)", {
        status: 401,
        body: { error: { code: "refresh_token_reused", message: "already used" } },
      }],
    ] as const
  ) {
    test(`dead refresh token (${name}) → LoginRequiredError, account marked needs_login`, async () => {
      await withStub(async (stub) => {
        const h = tempHome();
        try {
          if (failure) stub.setFailure(failure);
          const old = record("claude-max", "never-issued-rt", -10);
          const { config, tokens } = writeSetup(h.dir, stub.tokenUrl, { "claude-max": old });
          const tm = managerFor(h.dir, config);
          const err = await tm.accessToken("claude-max").then(() => undefined, (e) => e);
          assert.ok(err instanceof LoginRequiredError, String(err));
          assert.equal(err.id, "claude-max");
          assert.match(err.message, /run: ccmux login claude-max/);
          assert.ok(!err.message.includes("never-issued-rt"));
          const rec = JSON.parse(readFileSync(tokens, "utf8"))["claude-max"];
          assert.equal(rec.needs_login, true);
          assert.equal(rec.refresh_token, old.refresh_token, "tokens kept for inspection");
          // later calls fail fast without the network
          const n = stub.tokenRequests.length;
          await assert.rejects(tm.accessToken("claude-max"), LoginRequiredError);
          assert.equal(stub.tokenRequests.length, n);
        } finally {
          h.cleanup();
        }
      });
    });
  }

  test("server error and unreachable server → RefreshError, file byte-for-byte unchanged", async () => {
    const h = tempHome();
    try {
      const stub = await startOAuthStub();
      const old = record("claude-max", stub.seed(), -10);
      const { config, tokens } = writeSetup(h.dir, stub.tokenUrl, { "claude-max": old });
      const before = readFileSync(tokens, "utf8");
      stub.setFailure({ status: 503, body: { error: "temporarily_unavailable" } });
      const tm = managerFor(h.dir, config);
      await assert.rejects(tm.accessToken("claude-max"), RefreshError);
      await stub.close();
      const err = await tm.accessToken("claude-max").then(() => undefined, (e) => e);
      assert.ok(err instanceof RefreshError, String(err));
      assert.match(err.message, /cannot reach http:\/\/127\.0\.0\.1:\d+/);
      assert.equal(readFileSync(tokens, "utf8"), before);
    } finally {
      h.cleanup();
    }
  });

  test("a malformed account → LoginRequiredError with the recovery hint; the others work", async () => {
    const h = tempHome();
    try {
      const good = record("good", "rt-good", 3600);
      const { config, tokens } = writeSetup(h.dir, "http://127.0.0.1:9/", { good });
      const doc = JSON.parse(readFileSync(tokens, "utf8"));
      doc.bad = { provider_id: "bad", access_token: null, refresh_token: "sk-secret-rt" };
      writeFileSync(tokens, JSON.stringify(doc));
      const tm = managerFor(h.dir, config, {
        fetch: () => Promise.reject(new Error("no network expected")),
      });
      assert.equal((await tm.accessToken("good")).access_token, good.access_token);
      for (const call of [() => tm.accessToken("bad"), () => tm.refreshAfterReject("bad", "x")]) {
        const err = await call().then(() => undefined, (e) => e);
        assert.ok(err instanceof LoginRequiredError, String(err));
        assert.match(err.message, /'bad' in .*oauth_tokens\.json is malformed \(access_token/);
        assert.match(err.message, /ccmux logout bad, then .*ccmux login bad$/);
        assert.ok(!err.message.includes("sk-secret"));
      }
    } finally {
      h.cleanup();
    }
  });

  test("no account → LoginRequiredError without touching the network", async () => {
    const h = tempHome();
    try {
      const { config } = writeSetup(h.dir, "http://127.0.0.1:9/", {});
      const tm = managerFor(h.dir, config, {
        fetch: () => Promise.reject(new Error("no network expected")),
      });
      await assert.rejects(tm.accessToken("nobody"), LoginRequiredError);
    } finally {
      h.cleanup();
    }
  });
});
