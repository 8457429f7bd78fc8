// provider_type "codex" and "openai-responses": presets (protocol, default base_url), the auth
// rules (codex: an openai-kind OAuth account; openai-responses: an API key), and config show.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig, showConfig } from "../src/config/mod.ts";

function issuesOf(toml: string): string[] {
  try {
    parseConfig(toml, "test.toml", {});
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail("expected a ConfigError");
}

describe("Responses API provider types", () => {
  test("codex: oauth with the chatgpt account, default base URL, api responses", () => {
    const c = parseConfig(
      `
[[providers]]
name = "chatgpt"
provider_type = "codex"
auth_type = "oauth"
oauth_provider = "chatgpt"
[[models]]
name = "gpt"
[[models.mappings]]
provider = "chatgpt"
actual_model = "gpt-5.5"
`,
      "test.toml",
      {},
    );
    const p = c.providers[0];
    assert.equal(p.api, "responses");
    assert.equal(p.base_url, "https://chatgpt.com/backend-api/codex");
    assert.equal(p.auth_type, "oauth");
    const shown = showConfig(c);
    assert.match(shown, /provider_type = "codex"/);
    assert.match(shown, /base_url = "https:\/\/chatgpt\.com\/backend-api\/codex"/);
  });

  test("codex: an [oauth.ID] table of kind openai is accepted under any ID", () => {
    const c = parseConfig(
      `
[[providers]]
name = "work"
provider_type = "CODEX"
oauth_provider = "work-gpt"
base_url = "https://example.test/codex/"
[oauth.work-gpt]
kind = "openai"
`,
      "test.toml",
      {},
    );
    assert.equal(c.providers[0].api, "responses");
    assert.equal(c.providers[0].base_url, "https://example.test/codex");
  });

  test("codex: an API key, or an account of another kind, is refused with the fix", () => {
    const key = issuesOf(`
[[providers]]
name = "c"
provider_type = "codex"
auth_type = "apikey"
api_key = "sk-test-123456789"
`);
    assert.equal(key.length, 1);
    assert.match(
      key[0],
      /^providers\[0\]\.auth_type: .*needs auth_type = "oauth".*ccmux login chatgpt/,
    );

    const anthropic = issuesOf(`
[[providers]]
name = "c"
provider_type = "codex"
oauth_provider = "claude-max"
`);
    assert.deepEqual(anthropic, [
      'providers[0].oauth_provider: account "claude-max" is of kind "anthropic"; provider_type ' +
      '"codex" needs an openai-kind account (ccmux login chatgpt)',
    ]);

    const unknown = issuesOf(`
[[providers]]
name = "c"
provider_type = "codex"
oauth_provider = "mine"
`);
    assert.match(unknown[0], /account "mine" has no known kind.*\[oauth\.mine\] kind = "openai"/);
  });

  test("openai-responses: API key, default base URL; a ChatGPT sign-in is refused", () => {
    const c = parseConfig(
      `
[[providers]]
name = "oai"
provider_type = "openai-responses"
api_key = "$OPENAI_API_KEY"
`,
      "test.toml",
      { OPENAI_API_KEY: "sk-proj-secret-value-1234" },
    );
    const p = c.providers[0];
    assert.equal(p.api, "responses");
    assert.equal(p.auth_type, "apikey");
    assert.equal(p.base_url, "https://api.openai.com/v1");
    const shown = showConfig(c);
    assert.equal(shown.includes("sk-proj-secret-value-1234"), false);
    assert.match(shown, /api_key = "\*\*\*"/);

    const oauth = issuesOf(`
[[providers]]
name = "oai"
provider_type = "openai-responses"
oauth_provider = "chatgpt"
`);
    assert.match(oauth[0], /^providers\[0\]\.auth_type: .*public API.*provider_type "codex"/);
  });
});
