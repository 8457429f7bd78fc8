// Config loading: examples, env expansion, validation with key paths, the embedded default.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfig, showConfig } from "../src/config/mod.ts";
import { ROOT, tempHome } from "./helpers/cli.ts";

const EXAMPLE_ENV = {
  ANTHROPIC_API_KEY: "sk-ant-example",
  ZAI_API_KEY: "zai-example",
  OPENROUTER_API_KEY: "or-example",
  CCMUX_API_KEY: "ccmux-example",
};

function issuesOf(fn: () => unknown): ConfigError["issues"] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.issues;
  }
  assert.fail("expected the config to be rejected");
}

describe("config examples", () => {
  const dir = join(ROOT, "config");
  const files = readdirSync(dir).filter((f) => f.endsWith(".toml"));
  test("there are at least three examples", () => assert.ok(files.length >= 3, files.join()));
  for (const f of files) {
    test(`loads ${f}`, () => {
      const config = loadConfig({
        env: { ...EXAMPLE_ENV, HOME: "/nonexistent" },
        file: join(dir, f),
      });
      assert.ok(config.providers.length >= 1);
      assert.equal(config.path, join(dir, f));
      // config show of an example parses back to the same effective config
      const again = parseConfig(showConfig(config), "shown", { HOME: "/nonexistent" });
      assert.deepEqual(again.providers.map((p) => p.name), config.providers.map((p) => p.name));
      assert.deepEqual(again.models, config.models);
      assert.deepEqual(again.router, config.router);
    });
  }
});

describe("config validation", () => {
  const env = { HOME: "/nonexistent" };
  test("unknown key names its path and line, with a suggestion", () => {
    const issues = issuesOf(() =>
      parseConfig(
        `[server]\nport = 1\n\n[[providers]]\nname = "a"\nprovider_type = "anthropic"\napi_kye = "x"\n`,
        "f.toml",
        env,
      )
    );
    assert.deepEqual(issues, [{
      path: "providers[0].api_kye",
      line: 7,
      message: "unknown key (did you mean 'api_key'?)",
    }]);
  });

  test("bad types and ranges are all reported", () => {
    const issues = issuesOf(() =>
      parseConfig(
        `[server]\nport = 70000\nlog_level = "loud"\nmax_body_mb = "big"\n[router]\nbackground_regex = "(unclosed"\n`,
        "f.toml",
        env,
      )
    );
    assert.deepEqual(issues.map((i) => [i.path, i.line]), [
      ["server.port", 2],
      ["server.log_level", 3],
      ["server.max_body_mb", 4],
      ["router.background_regex", 6],
    ]);
    assert.match(issues[3].message, /regex does not compile/);
  });

  test("$VAR and ${VAR} expand; an unset variable is named", () => {
    const src = `[[providers]]\nname = "a"\nprovider_type = "anthropic"\napi_key = "\${MY_KEY}"\n` +
      `[[providers]]\nname = "b"\nprovider_type = "openai"\napi_key = "$OTHER_KEY"\n`;
    const config = parseConfig(src, "f.toml", { ...env, MY_KEY: "k1", OTHER_KEY: "k2" });
    assert.deepEqual(config.providers.map((p) => p.api_key), ["k1", "k2"]);
    const issues = issuesOf(() => parseConfig(src, "f.toml", { ...env, MY_KEY: "k1" }));
    assert.equal(issues.length, 1);
    assert.equal(issues[0].path, "providers[1].api_key");
    assert.match(issues[0].message, /OTHER_KEY is not set/);
  });

  test("a disabled provider's unset variable is not an error", () => {
    const config = parseConfig(
      `[[providers]]\nname = "a"\nprovider_type = "groq"\nenabled = false\napi_key = "$NOPE"\n`,
      "f.toml",
      env,
    );
    assert.equal(config.providers[0].enabled, false);
  });

  test("mappings must name existing providers; router targets must resolve", () => {
    const issues = issuesOf(() =>
      parseConfig(
        `[router]\ndefault = "nothing"\n[[providers]]\nname = "a"\nprovider_type = "anthropic"\n` +
          `[[models]]\nname = "m"\n[[models.mappings]]\nprovider = "b"\nactual_model = "x"\npriority = 1\n`,
        "f.toml",
        env,
      )
    );
    assert.deepEqual(issues.map((i) => i.path), [
      "models[0].mappings[0].provider",
      "router.default",
    ]);
  });

  test("a non-loopback host needs server.api_key", () => {
    const issues = issuesOf(() => parseConfig(`[server]\nhost = "0.0.0.0"\n`, "f.toml", env));
    assert.equal(issues[0].path, "server.host");
    const ok = parseConfig(`[server]\nhost = "0.0.0.0"\napi_key = "k"\n`, "f.toml", env);
    assert.equal(ok.server.host, "0.0.0.0");
  });

  test("invalid TOML gives its line", () => {
    const issues = issuesOf(() => parseConfig(`[server]\nport = 1\nhost = \n`, "f.toml", env));
    assert.equal(issues[0].path, "(toml)");
    assert.equal(issues[0].line, 3);
  });

  test("claude-code-mux's auth_type api_key and inline (?i) regex flags are accepted", () => {
    const config = parseConfig(
      `[router]\nbackground_regex = "(?i)claude.*haiku"\n[[providers]]\nname = "a"\n` +
        `provider_type = "z.ai"\nauth_type = "api_key"\napi_key = "k"\nrate_limit_rpm = 40\n`,
      "f.toml",
      env,
    );
    assert.equal(config.providers[0].auth_type, "apikey");
    assert.equal(config.providers[0].base_url, "https://api.z.ai/api/anthropic");
    assert.equal(config.providers[0].api, "anthropic");
    assert.match(config.warnings[0], /rate_limit_rpm/);
  });
});

describe("embedded default", () => {
  test("no file: 127.0.0.1:13456, one anthropic provider, auth from what exists", () => {
    const home = tempHome();
    try {
      const env = { HOME: home.dir, CCMUX_HOME: home.dir };
      let c = loadConfig({ env });
      assert.equal(c.path, undefined);
      assert.equal(c.server.host, "127.0.0.1");
      assert.equal(c.server.port, 13456);
      assert.deepEqual(c.providers.map((p) => [p.name, p.auth_type]), [[
        "anthropic",
        "passthrough",
      ]]);
      c = loadConfig({ env: { ...env, ANTHROPIC_API_KEY: "sk-1" } });
      assert.equal(c.providers[0].auth_type, "apikey");
      writeFileSync(
        join(home.dir, "oauth_tokens.json"),
        JSON.stringify({ "claude-max": { provider_id: "claude-max", access_token: "t" } }),
      );
      c = loadConfig({ env: { ...env, ANTHROPIC_API_KEY: "sk-1" } });
      assert.deepEqual([c.providers[0].auth_type, c.providers[0].oauth_provider], [
        "oauth",
        "claude-max",
      ]);
    } finally {
      home.cleanup();
    }
  });

  test("an explicitly named missing file is an error, not the default", () => {
    const issues = issuesOf(() => loadConfig({ env: { HOME: "/x" }, file: "/nonexistent/c.toml" }));
    assert.match(issues[0].message, /no such file/);
  });

  test("config show redacts secrets", () => {
    const c = parseConfig(
      `[server]\napi_key = "server-secret"\n[[providers]]\nname = "a"\nprovider_type = "openai"\n` +
        `api_key = "provider-secret"\nheaders = { Authorization = "Bearer hdr-secret", X-Title = "me" }\n`,
      "f.toml",
      { HOME: "/x" },
    );
    const shown = showConfig(c);
    for (const s of ["server-secret", "provider-secret", "hdr-secret"]) {
      assert.ok(!shown.includes(s));
    }
    // Every header value is hidden: a header's name does not tell whether it is secret.
    assert.match(shown, /X-Title = "\*\*\*"/);
  });
});
