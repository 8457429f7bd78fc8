// TokenManager's in-memory cache of the token file: no file I/O within cacheMs, one stat after
// it, changes by other writers (a direct write, another ccmux process) seen once it has passed,
// and refreshes / rejected tokens always judged against the file as it is now.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { TokenStore } from "../src/auth/token_store.ts";
import { LoginRequiredError, RefreshError, TokenManager } from "../src/auth/refresh.ts";
import { loadConfig } from "../src/config/mod.ts";
import type { TokenFile } from "../src/auth/types.ts";
import { baseEnv, runCli, tempHome } from "./helpers/cli.ts";
import { startOAuthStub } from "./helpers/oauth_stub.ts";
import { record, writeSetup } from "./helpers/token_files.ts";

/** A TokenStore that counts its file reads and stats (the spy the tests inject). */
class CountingStore extends TokenStore {
  reads = 0;
  stats = 0;
  updates = 0;
  override update<T>(fn: (doc: TokenFile) => T | Promise<T>): Promise<T> {
    this.updates++;
    return super.update(fn);
  }
  override readVersioned(): ReturnType<TokenStore["readVersioned"]> {
    this.reads++;
    return super.readVersioned();
  }
  override identity(): ReturnType<TokenStore["identity"]> {
    this.stats++;
    return super.identity();
  }
}

function setup(home: string, configPath: string, cacheMs: number, extra = {}) {
  const config = loadConfig({ env: { CCMUX_HOME: home, HOME: home }, file: configPath });
  const store = new CountingStore(config.auth.token_file);
  const tm = new TokenManager({
    config,
    store,
    cacheMs,
    fetch: () => Promise.reject(new Error("no network expected")),
    ...extra,
  });
  return { tm, store };
}

/** Replaces the file the way ccmux's writers do: temp file, then rename (a new inode). */
function replaceFile(path: string, doc: TokenFile): void {
  writeFileSync(`${path}.test.tmp`, JSON.stringify(doc, null, 2) + "\n", { mode: 0o600 });
  renameSync(`${path}.test.tmp`, path);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("TokenManager cache", () => {
  test("within the window: one read for many calls, no stat, a changed file not yet seen", async () => {
    const h = tempHome();
    try {
      const rec = record("claude-max", "rt", 3600);
      const { config, tokens } = writeSetup(h.dir, "http://127.0.0.1:9/", { "claude-max": rec });
      const { tm, store } = setup(h.dir, config, 600_000);
      const first = await Promise.all(
        Array.from({ length: 20 }, () => tm.accessToken("claude-max")),
      );
      for (let i = 0; i < 50; i++) await tm.accessToken("claude-max");
      assert.equal(store.reads, 1);
      assert.equal(store.stats, 0);
      assert.equal(first[0].access_token, rec.access_token);
      replaceFile(tokens, { "claude-max": record("claude-max", "rt", 3600) });
      assert.equal((await tm.accessToken("claude-max")).access_token, rec.access_token);
      assert.equal(store.reads, 1);
    } finally {
      h.cleanup();
    }
  });

  test("with a reporter (serve): a corrupt file is reported once, the last good read is used, a refresh fails naming it", async () => {
    const h = tempHome();
    try {
      const rec = record("claude-max", "rt", 3600);
      const { config, tokens } = writeSetup(h.dir, "http://127.0.0.1:9/", { "claude-max": rec });
      const reports: string[] = [];
      const { tm } = setup(h.dir, config, 20, {
        report: (level: string, m: string) => reports.push(`${level}: ${m}`),
      });
      assert.equal((await tm.accessToken("claude-max")).access_token, rec.access_token);
      writeFileSync(tokens, "{ truncated");
      for (let i = 0; i < 5; i++) {
        await sleep(40);
        assert.equal((await tm.accessToken("claude-max")).access_token, rec.access_token);
      }
      assert.equal(reports.length, 1, reports.join("\n"));
      assert.match(
        reports[0],
        /^error: cannot use the token file .*oauth_tokens\.json: not valid JSON/,
      );
      // A refresh needs the file itself: it fails naming it, without asking the server.
      const err = await tm.refreshAfterReject("claude-max", rec.access_token).then(
        () => 0,
        (e) => e,
      );
      assert.ok(err instanceof RefreshError, String(err));
      assert.match(err.message, /cannot refresh 'claude-max': cannot use the token file/);
      assert.equal(readFileSync(tokens, "utf8"), "{ truncated");
      assert.equal(reports.length, 1, reports.join("\n"));
    } finally {
      h.cleanup();
    }
  });

  test("after the window: one stat when unchanged; a replaced or rewritten file is re-read", async () => {
    const h = tempHome();
    try {
      const rec = record("claude-max", "rt", 3600);
      const { config, tokens } = writeSetup(h.dir, "http://127.0.0.1:9/", { "claude-max": rec });
      const { tm, store } = setup(h.dir, config, 30);
      assert.equal((await tm.accessToken("claude-max")).access_token, rec.access_token);
      await sleep(80);
      // 10 concurrent calls after the window share one stat.
      await Promise.all(Array.from({ length: 10 }, () => tm.accessToken("claude-max")));
      assert.equal(store.stats, 1);
      assert.equal(store.reads, 1);

      // Replaced by rename (how ccmux writes it).
      const next = record("claude-max", "rt", 3600);
      replaceFile(tokens, { "claude-max": next });
      await sleep(80);
      assert.equal((await tm.accessToken("claude-max")).access_token, next.access_token);
      assert.equal(store.reads, 2);

      // Rewritten in place with a token of the same length (same inode and size: the mtime).
      const same = {
        ...next,
        access_token: next.access_token.replace(/.$/, (c) => c === "x" ? "y" : "x"),
      };
      await sleep(20);
      writeFileSync(tokens, JSON.stringify({ "claude-max": same }, null, 2) + "\n");
      await sleep(80);
      assert.equal((await tm.accessToken("claude-max")).access_token, same.access_token);
      assert.equal(store.reads, 3);
    } finally {
      h.cleanup();
    }
  });

  test("a logout and a login by another ccmux process are noticed after the window", async () => {
    const stub = await startOAuthStub();
    const h = tempHome();
    try {
      const rec = record("claude-max", stub.seed(), 3600);
      const { config, tokens } = writeSetup(h.dir, stub.tokenUrl, { "claude-max": rec });
      const { tm } = setup(h.dir, config, 50);
      assert.equal((await tm.accessToken("claude-max")).access_token, rec.access_token);
      const out = await runCli(["logout", "claude-max", "--config", config], {
        env: baseEnv(h.dir),
        timeoutMs: 60_000,
      });
      assert.equal(out.code, 0, out.stderr);
      await sleep(120);
      await assert.rejects(tm.accessToken("claude-max"), LoginRequiredError);
      // A login elsewhere (the file written again): usable once noticed, without a restart.
      const back = record("claude-max", stub.seed(), 3600);
      replaceFile(tokens, { "claude-max": back });
      await sleep(120);
      assert.equal((await tm.accessToken("claude-max")).access_token, back.access_token);
    } finally {
      await stub.close();
      h.cleanup();
    }
  });

  test("refreshAfterReject compares with the file now, not the cached record", async () => {
    const h = tempHome();
    try {
      const rec = record("claude-max", "rt", 3600);
      const { config, tokens } = writeSetup(h.dir, "http://127.0.0.1:9/", { "claude-max": rec });
      const { tm, store } = setup(h.dir, config, 600_000);
      await tm.accessToken("claude-max");
      // Another process refreshed: the rejected token is no longer the stored one.
      const other = record("claude-max", "rt2", 3600);
      replaceFile(tokens, { "claude-max": other });
      const got = await tm.refreshAfterReject("claude-max", rec.access_token);
      assert.equal(got.access_token, other.access_token);
      assert.equal(store.reads, 2);
      assert.equal(store.updates, 0, "no refresh attempt (no lock taken)");
      // and what it read is what later calls get
      assert.equal((await tm.accessToken("claude-max")).access_token, other.access_token);
    } finally {
      h.cleanup();
    }
  });

  test("expiry is checked on every call: a cached record that comes due is refreshed once", async () => {
    const stub = await startOAuthStub();
    const h = tempHome();
    try {
      const rec = record("claude-max", stub.seed(), 3600);
      const { config } = writeSetup(h.dir, stub.tokenUrl, { "claude-max": rec });
      let clock = Date.now();
      const { tm } = setup(h.dir, config, 600_000, { now: () => clock, fetch: undefined });
      assert.equal((await tm.accessToken("claude-max")).access_token, rec.access_token);
      clock += 3500_000; // inside the default 5-minute skew, still inside the cache window
      const recs = await Promise.all(
        Array.from({ length: 10 }, () => tm.accessToken("claude-max")),
      );
      assert.equal(stub.refreshCount, 1);
      assert.equal(recs[0].access_token, stub.issued[0]);
      // The refresh dropped the snapshot: the new record is read back, no second refresh.
      assert.equal((await tm.accessToken("claude-max")).access_token, stub.issued[0]);
      assert.equal(stub.refreshCount, 1);
    } finally {
      await stub.close();
      h.cleanup();
    }
  });

  test("cacheMs 0 looks at the file (stat or read) on every call", async () => {
    const h = tempHome();
    try {
      const { config } = writeSetup(h.dir, "http://127.0.0.1:9/", {
        "claude-max": record("claude-max", "rt", 3600),
      });
      const { tm, store } = setup(h.dir, config, 0);
      for (let i = 0; i < 3; i++) await tm.accessToken("claude-max");
      assert.equal(store.reads + store.stats, 3);
    } finally {
      h.cleanup();
    }
  });
});
