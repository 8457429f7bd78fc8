// The encrypted token store: the envelope, keys (CCMUX_TOKEN_KEY, key_file, a keychain, auto),
// files that cannot be decrypted left byte-identical, the plain/sealed mix-ups, `tokens
// migrate`, and login, token, status and logout on a sealed file as child processes. (The
// cross-process lock and SIGKILL tests run on this store in tests/token_cli_test.ts; the real
// Secret Service in tests/sealed_keychain_test.ts.)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { TokenFileError, TokenStore } from "../src/auth/token_store.ts";
import { sealedCodec } from "../src/auth/sealed.ts";
import type { Keychain, Lookup } from "../src/auth/keychain.ts";
import type { AuthConfig } from "../src/config/types.ts";
import { loadConfig, parseConfig } from "../src/config/mod.ts";
import { showConfig } from "../src/config/show.ts";
import { baseEnv, runCli, startCli, tempHome } from "./helpers/cli.ts";
import { startOAuthStub } from "./helpers/oauth_stub.ts";
import { startAuthzStub } from "./helpers/authz_stub.ts";
import { assertNoSecrets, record, writeSetup } from "./helpers/token_files.ts";
import { assertNoTokensIn, newKey, readDoc, useEncrypted } from "./helpers/sealed.ts";

const T = 90_000;

function auth(path: string, extra: Partial<AuthConfig> = {}): AuthConfig {
  return {
    token_file: path,
    refresh_skew_s: 300,
    store: "encrypted",
    key_source: "env",
    background_refresh: false,
    ...extra,
  };
}

/** A store on `path` sealed with the key in `env`. */
function sealedStore(path: string, env: Record<string, string>, extra: Partial<AuthConfig> = {}) {
  return new TokenStore(path, { codec: sealedCodec(auth(path, extra), env) });
}

/** An in-memory keychain; `unusable` makes it answer like a Secret Service without D-Bus. */
function fakeKeychain(unusable?: string) {
  const items = new Map<string, string>();
  const kc: Keychain & { items: Map<string, string> } = {
    name: "the test keychain",
    items,
    lookup: (account): Promise<Lookup> =>
      Promise.resolve(
        unusable
          ? { unusable }
          : items.has(account)
          ? { found: items.get(account)! }
          : { missing: true },
      ),
    store: (account, secret) => {
      if (unusable) return Promise.reject(new Error(unusable));
      items.set(account, secret);
      return Promise.resolve();
    },
  };
  return kc;
}

const doc = () => ({
  "claude-max": {
    provider_id: "claude-max",
    access_token: "sk-ant-oat01-SECRET-access-token-value",
    refresh_token: "sk-ant-ort01-SECRET-refresh-token-value",
    expires_at: "2099-01-01T00:00:00Z",
    custom: { kept: [1, 2] },
  },
});

describe("the sealed envelope", () => {
  test("versioned envelope (alg, key id, nonce); no token in clear or base64; a fresh nonce per write", async () => {
    const h = tempHome();
    try {
      const path = join(h.dir, "tokens.json");
      const env = { CCMUX_TOKEN_KEY: newKey() };
      const store = sealedStore(path, env);
      await store.update((d) => Object.assign(d, doc()));
      const env1 = JSON.parse(readFileSync(path, "utf8"));
      assert.deepEqual(Object.keys(env1), [
        "ccmux_sealed",
        "alg",
        "kid",
        "nonce",
        "accounts",
        "ciphertext",
      ]);
      assert.equal(env1.ccmux_sealed, 1);
      assert.equal(env1.alg, "AES-256-GCM");
      assert.match(env1.kid, /^sha256:[0-9a-f]{16}$/);
      assert.equal(atob(env1.nonce).length, 12);
      assert.deepEqual(env1.accounts, ["claude-max"]);
      const rec = doc()["claude-max"];
      assertNoTokensIn(path, [rec.access_token, rec.refresh_token]);
      assert.deepEqual(await store.read(), doc());
      await store.update((d) => {
        d["claude-max"].access_token = "sk-ant-oat01-SECRET-second";
      });
      const env2 = JSON.parse(readFileSync(path, "utf8"));
      assert.notEqual(env2.nonce, env1.nonce);
      assert.equal(env2.kid, env1.kid);
      assertNoTokensIn(path, ["sk-ant-oat01-SECRET-second", rec.refresh_token]);
      // Another store with the same key (another process) reads it.
      assert.equal(
        (await sealedStore(path, env).get("claude-max"))?.access_token,
        "sk-ant-oat01-SECRET-second",
      );
    } finally {
      h.cleanup();
    }
  });

  test("the helper that checks files finds a token written plainly or in base64", () => {
    const h = tempHome();
    try {
      const path = join(h.dir, "t.json");
      const secret = "sk-ant-oat01-SECRET-access-token-value";
      for (const text of [secret, btoa(secret), btoa(`x${secret}`), btoa(`xy${secret}`)]) {
        writeFileSync(path, JSON.stringify({ data: text.replace(/\+/g, "-") }));
        assert.throws(() => assertNoTokensIn(path, [secret]), /shows a token/);
      }
    } finally {
      h.cleanup();
    }
  });

  const broken: [string, (store: TokenStore, path: string) => Promise<void>, RegExp][] = [
    ["a wrong key", async (_s, path) => {
      await sealedStore(path, { CCMUX_TOKEN_KEY: newKey() }).read();
    }, /sealed with another key \(key id sha256:[0-9a-f]{16}; .* has id sha256:/],
    ["no key", async (_s, path) => {
      await sealedStore(path, {}).read();
    }, /CCMUX_TOKEN_KEY \(key_source "env"\), which is not set \(make one with: openssl rand/],
    ["a key that is not 32 bytes", async (_s, path) => {
      await sealedStore(path, { CCMUX_TOKEN_KEY: btoa("short") }).read();
    }, /CCMUX_TOKEN_KEY is not a key: expected 32 bytes in base64/],
    ["a changed account list", async (s, path) => {
      const e = JSON.parse(readFileSync(path, "utf8"));
      e.accounts = ["other"];
      writeFileSync(path, JSON.stringify(e));
      await s.read();
    }, /cannot be decrypted: it was damaged or changed/],
    ["a flipped ciphertext byte", async (s, path) => {
      const e = JSON.parse(readFileSync(path, "utf8"));
      const c = e.ciphertext as string;
      e.ciphertext = (c[5] === "A" ? "B" : "A").padStart(6, c.slice(0, 5)) + c.slice(6);
      writeFileSync(path, JSON.stringify(e));
      await s.read();
    }, /cannot be decrypted/],
    ["an unknown envelope version", async (s, path) => {
      const e = JSON.parse(readFileSync(path, "utf8"));
      e.ccmux_sealed = 9;
      writeFileSync(path, JSON.stringify(e));
      await s.read();
    }, /envelope version 9, which this ccmux does not know/],
  ];
  for (const [name, act, re] of broken) {
    test(`${name}: TokenFileError naming the file, quoting nothing; the file is never rewritten`, async () => {
      const h = tempHome();
      try {
        const path = join(h.dir, "tokens.json");
        const env = { CCMUX_TOKEN_KEY: newKey() };
        const store = sealedStore(path, env);
        await store.update((d) => Object.assign(d, doc()));
        const err = await act(store, path).then(() => undefined, (e) => e);
        assert.ok(err instanceof TokenFileError, String(err));
        assert.match(err.message, re);
        assert.ok(err.message.includes(path));
        assert.ok(!err.message.includes(env.CCMUX_TOKEN_KEY));
        assert.ok(!err.message.includes("SECRET"));
        // update() through the same broken path never calls fn and never writes.
        const before = readFileSync(path);
        const bad = name === "a wrong key"
          ? sealedStore(path, { CCMUX_TOKEN_KEY: newKey() })
          : name === "no key"
          ? sealedStore(path, {})
          : name.startsWith("a key that")
          ? sealedStore(path, { CCMUX_TOKEN_KEY: btoa("short") })
          : store;
        let called = false;
        await assert.rejects(
          bad.update((d) => {
            called = true;
            d.x = { provider_id: "x", access_token: "y" };
          }),
          TokenFileError,
        );
        assert.equal(called, false);
        assert.deepEqual(readFileSync(path), before);
      } finally {
        h.cleanup();
      }
    });
  }

  test("plain file on the encrypted store, sealed file on the plain store: an error naming migrate, never rewritten", async () => {
    const h = tempHome();
    try {
      const path = join(h.dir, "tokens.json");
      const env = { CCMUX_TOKEN_KEY: newKey() };
      writeFileSync(path, JSON.stringify(doc()), { mode: 0o600 });
      const plain = readFileSync(path);
      const e1 = await sealedStore(path, env).update(() => {}).then(() => 0, (e) => e);
      assert.ok(e1 instanceof TokenFileError);
      assert.match(e1.message, /not encrypted .*run: ccmux tokens migrate --to encrypted/);
      assert.deepEqual(readFileSync(path), plain);
      await sealedStore(join(h.dir, "s.json"), env).update((d) => Object.assign(d, doc()));
      const sealed = readFileSync(join(h.dir, "s.json"));
      const e2 = await new TokenStore(join(h.dir, "s.json")).update(() => {}).then(
        () => 0,
        (e) => e,
      );
      assert.ok(e2 instanceof TokenFileError);
      assert.match(e2.message, /is encrypted but \[auth\] store is "file".*migrate --to file/);
      assert.deepEqual(readFileSync(join(h.dir, "s.json")), sealed);
    } finally {
      h.cleanup();
    }
  });

  test(
    "key_file: a 0600 file is used; looser modes, a missing file and a non-key are refused naming the fix",
    {
      skip: process.platform === "win32" ? "POSIX modes" : false,
    },
    async () => {
      const h = tempHome();
      try {
        const path = join(h.dir, "tokens.json");
        const keyFile = join(h.dir, "token.key");
        writeFileSync(keyFile, `${newKey()}\n`, { mode: 0o600 });
        chmodSync(keyFile, 0o600);
        const store = () => sealedStore(path, {}, { key_source: "file", key_file: keyFile });
        await store().update((d) => Object.assign(d, doc()));
        assert.deepEqual((await store().get("claude-max"))?.custom, { kept: [1, 2] });
        const before = readFileSync(path);
        for (const mode of [0o644, 0o640, 0o604, 0o660]) {
          chmodSync(keyFile, mode);
          const err = await store().read().then(() => 0, (e) => e);
          assert.ok(err instanceof TokenFileError, String(err));
          assert.ok(
            err.message.includes(
              `the key file ${keyFile} is accessible by others (mode 0${mode.toString(8)}); ` +
                `run: chmod 600 ${keyFile}`,
            ),
            err.message,
          );
          assert.equal(statMode(keyFile), mode, "the key file's mode is not changed");
        }
        chmodSync(keyFile, 0o600);
        writeFileSync(keyFile, "not a key\n");
        await assert.rejects(store().read(), /key file .* is not a key: expected 32 bytes/);
        const missing = sealedStore(path, {}, { key_source: "file", key_file: `${keyFile}.gone` });
        await assert.rejects(missing.read(), /key file .*\.gone does not exist \(make one with/);
        assert.deepEqual(readFileSync(path), before);
      } finally {
        h.cleanup();
      }
    },
  );

  test("auto: the keychain when it answers (a new key is stored there), else CCMUX_TOKEN_KEY, else key_file; it says which", async () => {
    const h = tempHome();
    try {
      const path = join(h.dir, "tokens.json");
      const kc = fakeKeychain();
      const viaKeychain = sealedCodec(auth(path, { key_source: "auto" }), {}, { keychain: kc });
      const store = new TokenStore(path, { codec: viaKeychain });
      await store.update((d) => Object.assign(d, doc()));
      assert.equal(kc.items.size, 1);
      assert.equal(atob(kc.items.get(path)!).length, 32, "a 32-byte key under the file's path");
      assert.match(viaKeychain.describe!()!, /the test keychain \(key_source "auto" picked/);
      assertNoTokensIn(path, [doc()["claude-max"].access_token, doc()["claude-max"].refresh_token]);

      const key = newKey();
      const down = fakeKeychain("Cannot autolaunch D-Bus without X11 $DISPLAY");
      const viaEnv = sealedCodec(
        auth(join(h.dir, "e.json"), { key_source: "auto" }),
        { CCMUX_TOKEN_KEY: key },
        { keychain: down },
      );
      await new TokenStore(join(h.dir, "e.json"), { codec: viaEnv }).update((d) => {
        Object.assign(d, doc());
      });
      assert.match(
        viaEnv.describe!()!,
        /^CCMUX_TOKEN_KEY \(key_source "auto"; no usable keychain: the test keychain answered: Cannot autolaunch/,
      );
      assert.deepEqual((await readDoc(join(h.dir, "e.json"), key))["claude-max"].custom, {
        kept: [1, 2],
      });

      const none = sealedCodec(auth(join(h.dir, "n.json"), { key_source: "auto" }), {}, {
        keychain: down,
      });
      const err = await new TokenStore(join(h.dir, "n.json"), { codec: none }).update((d) => {
        Object.assign(d, doc());
      }).then(() => 0, (e) => e);
      assert.ok(err instanceof TokenFileError);
      assert.match(
        err.message,
        /has no key: the keychain cannot be used .*CCMUX_TOKEN_KEY is not set/,
      );
      assert.ok(!existsSync(join(h.dir, "n.json")), "nothing written without a key");

      // key_source = "keychain" with the item gone: a clear error, no new key over a sealed file.
      kc.items.clear();
      const gone = sealedCodec(auth(path, { key_source: "keychain" }), {}, { keychain: kc });
      await assert.rejects(
        new TokenStore(path, { codec: gone }).update(() => {}),
        /its key is not in the test keychain, service "ccmux", account ".*tokens\.json"/,
      );
      assert.equal(kc.items.size, 0);
    } finally {
      h.cleanup();
    }
  });
});

function statMode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe("[auth] config keys", () => {
  test("store, key_source, key_file, background_refresh: defaults, validation naming the key, config show", () => {
    const env = { CCMUX_HOME: "/tmp/ccmux-cfg-test" };
    const d = parseConfig("", "t.toml", env).auth;
    assert.equal(d.store, "file");
    assert.equal(d.key_source, "auto");
    assert.equal(d.key_file, undefined);
    assert.equal(d.background_refresh, true);
    const c = parseConfig(
      '[auth]\nstore = "encrypted"\nkey_source = "file"\nkey_file = "/k"\nbackground_refresh = false\n',
      "t.toml",
      env,
    );
    assert.deepEqual(
      [c.auth.store, c.auth.key_source, c.auth.key_file, c.auth.background_refresh],
      ["encrypted", "file", "/k", false],
    );
    const shown = showConfig(c);
    assert.match(shown, /store = "encrypted"/);
    assert.match(shown, /key_source = "file"/);
    assert.match(shown, /key_file = "\/k"/);
    assert.match(shown, /background_refresh = false/);
    for (
      const [toml, re] of [
        ['store = "sealed"', /auth\.store.*expected one of "file", "encrypted", got "sealed"/],
        ['key_source = "kwallet"', /auth\.key_source.*expected one of "auto", "keychain"/],
        ['key_source = "file"', /auth\.key_file.*missing \(key_source = "file" reads the key/],
        ["background_refresh = 1", /auth\.background_refresh/],
        ["key_file = 3", /auth\.key_file/],
      ] as const
    ) {
      assert.throws(() => parseConfig(`[auth]\n${toml}\n`, "t.toml", env), re);
    }
  });

  test("the embedded default finds claude-max in a sealed file without its key", async () => {
    const h = tempHome();
    try {
      const path = join(h.dir, "oauth_tokens.json");
      await sealedStore(path, { CCMUX_TOKEN_KEY: newKey() }).update((d) => Object.assign(d, doc()));
      const c = loadConfig({ env: { CCMUX_HOME: h.dir, HOME: h.dir } });
      assert.equal(c.providers[0].auth_type, "oauth");
      assert.equal(c.providers[0].oauth_provider, "claude-max");
    } finally {
      h.cleanup();
    }
  });
});

const cli = (args: string[], env: Record<string, string>) => runCli(args, { env, timeoutMs: T });

describe("the CLI on an encrypted store", { timeout: 300_000 }, () => {
  test("login --paste writes a sealed file; token, --refresh, status and logout use it; no secret shown", async () => {
    const authz = await startAuthzStub({ body: "json" });
    const h = tempHome();
    try {
      const key = newKey();
      writeFileSync(
        join(h.dir, "config.toml"),
        `[auth]\nstore = "encrypted"\nkey_source = "env"\n[oauth.claude-max]\nkind = "anthropic"\n` +
          `client_id = "test-client"\nauthorize_url = "${authz.authorizeUrl}"\n` +
          `token_url = "${authz.tokenUrl}"\npaste_redirect_uri = "${authz.pasteUrl}"\n`,
      );
      const env = baseEnv(h.dir, { CCMUX_TOKEN_KEY: key });
      const tokens = join(h.dir, "oauth_tokens.json");
      const child = startCli(["login", "claude-max", "--paste"], { env });
      let err = "";
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
      const exit = new Promise<number | null>((r) => child.on("close", (c) => r(c)));
      const re = new RegExp(`^${authz.authorizeUrl.replace(/[.?]/g, "\\$&")}\\?\\S+$`, "m");
      const deadline = Date.now() + 60_000;
      while (!re.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const res = await fetch(re.exec(err)![0], { redirect: "manual" });
      await res.body?.cancel();
      const shown = await fetch(res.headers.get("location")!).then((r) => r.text());
      child.stdin!.end(`${shown}\n`);
      assert.equal(await exit, 0, err);
      const rec = (await readDoc(tokens, key))["claude-max"];
      assert.equal(rec.access_token, authz.issued[0]);
      const secrets = () => [...authz.issued, rec.refresh_token];
      assertNoTokensIn(tokens, secrets());

      const t = await cli(["token"], env);
      assert.equal(t.code, 0, t.stderr);
      assert.equal(t.stdout, `${authz.issued[0]}\n`);
      const st = await cli(["status", "--json"], env);
      assert.equal(st.code, 0, st.stderr);
      assert.equal(JSON.parse(st.stdout)[0].id, "claude-max");
      assert.equal(JSON.parse(st.stdout)[0].refreshable, true);
      for (const r of [t, st]) assertNoSecrets(r.stderr, secrets());
      assertNoSecrets(st.stdout, secrets());
      const lo = await cli(["logout", "claude-max"], env);
      assert.equal(lo.code, 0, lo.stderr);
      assert.deepEqual(await readDoc(tokens, key), {});
      assert.match(readFileSync(tokens, "utf8"), /"ccmux_sealed": 1/);
    } finally {
      await authz.close();
      h.cleanup();
    }
  });

  test("token --refresh on a sealed file: one refresh, rotated tokens sealed", async () => {
    const stub = await startOAuthStub();
    const h = tempHome();
    try {
      const old = record("claude-max", stub.seed(), 3600, { extra: "kept" });
      const files = writeSetup(h.dir, stub.tokenUrl, { "claude-max": old });
      const { key, env } = await useEncrypted(files);
      const r = await cli(["token", "--refresh"], baseEnv(h.dir, env));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${stub.issued[0]}\n`);
      assert.equal(stub.refreshCount, 1);
      const rec = (await readDoc(files.tokens, key))["claude-max"];
      assert.equal(rec.access_token, stub.issued[0]);
      assert.equal(rec.extra, "kept");
      assertNoTokensIn(files.tokens, [...stub.issued, rec.refresh_token, old.refresh_token]);
    } finally {
      await stub.close();
      h.cleanup();
    }
  });

  test("wrong and missing key: token, status, logout, login and migrate exit 1 clearly; the file byte-identical", async () => {
    const stub = await startOAuthStub();
    const h = tempHome();
    try {
      const files = writeSetup(h.dir, stub.tokenUrl, {
        "claude-max": record("claude-max", stub.seed(), -60),
      });
      const { key } = await useEncrypted(files);
      const before = readFileSync(files.tokens);
      for (
        const [name, extra, re] of [
          ["wrong key", { CCMUX_TOKEN_KEY: newKey() }, /sealed with another key/],
          ["missing key", {}, /CCMUX_TOKEN_KEY \(key_source "env"\), which is not set/],
        ] as const
      ) {
        const env = baseEnv(h.dir, extra);
        for (
          const args of [
            ["token", "claude-max"],
            ["token", "--refresh"],
            ["status"],
            ["logout", "claude-max"],
            ["login", "claude-max", "--paste"],
            ["tokens", "migrate", "--to", "file"],
            ["tokens", "migrate", "--to", "encrypted"],
          ]
        ) {
          const r = await cli(args, env);
          assert.equal(r.code, 1, `${name}: ${args.join(" ")}: ${r.stderr}`);
          assert.equal(r.stdout, "");
          assert.match(r.stderr, /^ccmux: (login claude-max failed: )?cannot use the token file /);
          assert.ok(r.stderr.includes(`the token file ${files.tokens}: `), r.stderr);
          assert.match(r.stderr, re);
          assert.ok(!r.stderr.includes(key));
          assert.deepEqual(readFileSync(files.tokens), before, `${name}: ${args.join(" ")}`);
        }
      }
      assert.equal(stub.tokenRequests.length, 0);
      assert.equal(stub.revocations.length, 0);
    } finally {
      await stub.close();
      h.cleanup();
    }
  });

  test('a plain file with store = "encrypted": exit 1 telling to migrate, never rewritten', async () => {
    const stub = await startOAuthStub();
    const h = tempHome();
    try {
      const files = writeSetup(h.dir, stub.tokenUrl, {
        "claude-max": record("claude-max", stub.seed(), -60),
      });
      writeFileSync(
        files.config,
        readFileSync(files.config, "utf8") + '\n[auth]\nstore = "encrypted"\n',
      );
      const before = readFileSync(files.tokens);
      const env = baseEnv(h.dir, { CCMUX_TOKEN_KEY: newKey() });
      for (const args of [["token"], ["status"], ["logout", "claude-max"]]) {
        const r = await cli(args, env);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /not encrypted \(plain JSON\).*run: ccmux tokens migrate --to encrypted/,
        );
        assert.deepEqual(readFileSync(files.tokens), before);
      }
      assert.equal(stub.tokenRequests.length, 0);
    } finally {
      await stub.close();
      h.cleanup();
    }
  });
});

describe("ccmux tokens migrate", { timeout: 300_000 }, () => {
  test("to encrypted and back keeps every account and unknown field, byte-compatible plain JSON", async () => {
    const h = tempHome();
    try {
      const files = writeSetup(h.dir, "http://127.0.0.1:9/", {
        a: record("a", "rt-a-SECRET-1234567890", 3600, { custom: { deep: [1, { x: null }] } }),
        b: record("b", undefined, -60, { kind: "openai", account_id: "acc" }),
      });
      const raw = JSON.parse(readFileSync(files.tokens, "utf8"));
      raw.broken = "a malformed record is kept too";
      writeFileSync(files.tokens, JSON.stringify(raw, null, 2) + "\n");
      const plainBytes = readFileSync(files.tokens, "utf8");
      const key = newKey();
      const env = baseEnv(h.dir, { CCMUX_TOKEN_KEY: key });

      const to = await cli(["tokens", "migrate", "--to", "encrypted"], env);
      assert.equal(to.code, 0, to.stderr);
      assert.match(
        to.stderr,
        /^Rewrote .*oauth_tokens\.json as encrypted \(key from CCMUX_TOKEN_KEY/,
      );
      assert.match(to.stderr, /Now set \[auth\] store = "encrypted"/);
      assert.equal(to.stdout, "");
      assert.deepEqual(await readDoc(files.tokens, key), raw);
      assertNoTokensIn(files.tokens, [raw.a.access_token, raw.a.refresh_token, raw.b.access_token]);
      const again = await cli(["tokens", "migrate", "--to", "encrypted"], env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /is already encrypted/);

      const back = await cli(["tokens", "migrate", "--to", "file"], env);
      assert.equal(back.code, 0, back.stderr);
      assert.equal(readFileSync(files.tokens, "utf8"), plainBytes, "the plain file as it was");
      const same = await cli(["tokens", "migrate", "--to", "file"], env);
      assert.match(same.stderr, /is already plain JSON/);
      assert.deepEqual(
        readdirNoDot(h.dir),
        ["config.toml", "oauth_tokens.json"],
        "no lock or temp file left",
      );
    } finally {
      h.cleanup();
    }
  });

  test("--help, usage errors (exit 2), no file (exit 0)", async () => {
    const h = tempHome();
    try {
      const env = baseEnv(h.dir);
      const help = await cli(["tokens", "migrate", "--help"], env);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^Usage: ccmux tokens migrate --to encrypted\|file/);
      const top = await cli(["tokens", "--help"], env);
      assert.equal(top.code, 0);
      for (
        const [args, re] of [
          [["tokens"], /missing tokens command \(migrate\)/],
          [["tokens", "move"], /unknown tokens command 'move'/],
          [["tokens", "migrate"], /missing --to \(encrypted or file\)/],
          [["tokens", "migrate", "--to", "plain"], /invalid value 'plain' for --to/],
          [["tokens", "migrate", "--to", "file", "--bogus"], /unknown flag '--bogus'/],
        ] as const
      ) {
        const r = await cli([...args], env);
        assert.equal(r.code, 2, args.join(" "));
        assert.match(r.stderr, re);
        assert.match(r.stderr, /Run 'ccmux tokens( migrate)? --help' for usage\.\n$/);
      }
      const none = await cli(["tokens", "migrate", "--to", "encrypted"], env);
      assert.equal(none.code, 0, none.stderr);
      assert.match(none.stderr, /No token file at .*; nothing to migrate/);
    } finally {
      h.cleanup();
    }
  });
});

function readdirNoDot(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith(".")).sort();
}
