// `ccmux config check` / `config show` as child processes: redaction of secrets hidden in URLs
// and headers, plain-http credentials refused, router targets without [[models]], the ignored
// router.subagent warning, TOML errors with line and column, "$VAR"s insisted on.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, runCli, tempHome } from "./helpers/cli.ts";

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

const check = (file: string, extra: Record<string, string> = {}) =>
  runCli(["config", "check", "--config", file], { env: { ...env, ...extra } });

describe("config show", () => {
  test("redacts URL userinfo, query values and fragments, and every header value", async () => {
    const file = configFile(`
[[providers]]
name = "gw"
provider_type = "openai"
api_key = "k-SECRET0"
base_url = "https://alice:pw-SECRET1@gw.example.com/v1?api_key=q-SECRET2&region=eu-SECRET8#f-SECRET9"
headers = { "X-Pass" = "h-SECRET3", "x-credential" = "h-SECRET4", "X-Session" = "h-SECRET5", "X-Signature" = "h-SECRET6" }

[oauth.sso]
kind = "oidc"
issuer = "https://login.example.com"
token_url = "https://login.example.com/token?client_secret=o-SECRET7"
client_id = "ccmux-client"
`);
    const r = await runCli(["config", "show", "--config", file], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!/SECRET/.test(r.stdout), `a secret is shown:\n${r.stdout}`);
    assert.ok(!/SECRET/.test(r.stderr));
    // The shape stays readable: host, path and parameter names are kept.
    assert.match(
      r.stdout,
      /^base_url = "https:\/\/\*\*\*@gw\.example\.com\/v1\?api_key=\*\*\*&region=\*\*\*#\*\*\*"$/m,
    );
    for (const h of ["X-Pass", "x-credential", "X-Session", "X-Signature"]) {
      assert.match(r.stdout, new RegExp(`^${h} = "\\*\\*\\*"$`, "m"));
    }
    assert.match(
      r.stdout,
      /token_url = "https:\/\/login\.example\.com\/token\?client_secret=\*\*\*"/,
    );
    assert.match(r.stdout, /client_id = "ccmux-client"/);
  });
});

describe("config check: credentials over plain http", () => {
  const provider = (auth: string, url: string, extra = "") =>
    `[[providers]]\nname = "p"\nprovider_type = "openai"\n${auth}\nbase_url = "${url}"\n${extra}`;

  for (
    const [what, auth] of [
      ["apikey", `api_key = "k"`],
      ["oauth", `auth_type = "oauth"\noauth_provider = "acct"`],
    ]
  ) {
    test(`${what} provider with http:// to another host is refused, naming the opt-in key`, async () => {
      const r = await check(configFile(provider(auth, "http://192.0.2.10:8080/v1")));
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /providers\[0\]\.base_url \(line \d\): "192\.0\.2\.10" is reached over plain http:\/\/.*clear text.*allow_insecure_http = true/,
      );
    });
  }

  test("allow_insecure_http = true accepts it, and config show keeps the key", async () => {
    const file = configFile(
      provider(`api_key = "k"`, "http://gw.lan/v1", "allow_insecure_http = true\n"),
    );
    const r = await check(file);
    assert.equal(r.code, 0, r.stderr);
    const shown = await runCli(["config", "show", "--config", file], { env });
    assert.match(shown.stdout, /^allow_insecure_http = true$/m);
    assert.equal((await check(configFile(shown.stdout))).code, 0);
  });

  test("https, loopback http, passthrough and disabled providers pass", async () => {
    for (
      const text of [
        provider(`api_key = "k"`, "https://gw.example.com/v1"),
        provider(`api_key = "k"`, "http://127.0.0.1:11434/v1"),
        provider(`api_key = "k"`, "http://localhost:11434/v1"),
        provider(`api_key = "k"`, "http://[::1]:11434/v1"),
        provider(`auth_type = "passthrough"`, "http://192.0.2.10/v1"),
        provider(`api_key = "k"\nenabled = false`, "http://192.0.2.10/v1"),
      ]
    ) {
      const r = await check(configFile(text));
      assert.equal(r.code, 0, `${text}\n${r.stderr}`);
    }
  });
});

describe("config check: router targets", () => {
  test("without [[models]], a target naming nothing is rejected", async () => {
    const r = await check(configFile(
      `[router]\ndefault = "typo-model"\n[[providers]]\nname = "a"\nprovider_type = "anthropic"\napi_key = "k"\n`,
    ));
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /router\.default \(line 2\): "typo-model" is not a \[\[models\]\] name.*"a\/typo-model"/,
    );
  });

  test("without [[models]], provider/model and a listed model pass", async () => {
    const r = await check(configFile(
      `[router]\ndefault = "a/claude-x"\nthink = "listed"\n[[providers]]\nname = "a"\n` +
        `provider_type = "anthropic"\napi_key = "k"\nmodels = ["listed"]\n`,
    ));
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("config check: messages", () => {
  test("router.subagent is accepted with a warning that says it is ignored", async () => {
    const r = await check(configFile(`[router]\nsubagent = "fast"\n`));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^ccmux: warning: router\.subagent is a claude-code-mux key that ccmux ignores/m,
    );
  });

  test("invalid TOML names the line and the column", async () => {
    const r = await check(configFile(`[server]\nport = 1\nhost = \n`));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\(toml\) \(line 3, column 8\): /);
  });

  test('a provider\'s unset "$VAR" is still an error for config check', async () => {
    const r = await check(configFile(
      `[[providers]]\nname = "a"\nprovider_type = "anthropic"\napi_key = "$CCMUX_TEST_UNSET_KEY"\n`,
    ));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /providers\[0\]\.api_key \(line 4\): environment variable CCMUX_TEST_UNSET_KEY is not set/,
    );
  });
});
