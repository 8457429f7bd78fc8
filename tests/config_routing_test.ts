// The shipped claude-code-mux-style example configs route Claude Code's real request shapes
// exactly as their [router], [[providers]] and [[models]] keys say.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../src/config/mod.ts";
import type { Config } from "../src/config/mod.ts";
import { selectRoute } from "../src/proxy/router.ts";
import { RouteError } from "../src/proxy/route_types.ts";
import type { RouteDecision } from "../src/proxy/route_types.ts";
import { haikuRequest, mainRequest } from "./helpers/cc_requests.ts";
import { ROOT, tempHome } from "./helpers/cli.ts";

type Obj = Record<string, unknown>;

const ENV = {
  ANTHROPIC_API_KEY: "sk-ant-example",
  ZAI_API_KEY: "zai-example",
  OPENROUTER_API_KEY: "or-example",
  CCMUX_API_KEY: "ccmux-example",
};

function load(file: string): Config {
  const home = tempHome();
  try {
    return loadConfig({ env: { ...ENV, CCMUX_HOME: home.dir }, file: join(ROOT, "config", file) });
  } finally {
    home.cleanup();
  }
}

function route(config: Config, body: Obj, headers: Record<string, string> = {}): RouteDecision {
  return selectRoute(config, body, new Headers(headers));
}

/** "provider:actual_model@api" per candidate, in order. */
function cands(d: RouteDecision): string[] {
  return d.candidates.map((c) => `${c.provider.name}:${c.actual_model}@${c.provider.api}`);
}

const webSearch = { type: "web_search_20250305", name: "web_search", max_uses: 8 };
const longMessages = [{ role: "user", content: "word ".repeat(200000) }]; // ~250k tokens

describe("config/claude-code-mux.example.toml", () => {
  const config = load("claude-code-mux.example.toml");

  const cases: [string, Obj, RouteDecision["rule"], string, string[]][] = [
    [
      "main request (adaptive thinking) → default claude-sonnet",
      mainRequest(),
      "default",
      "claude-sonnet",
      ["claude-max:claude-sonnet-4-5@anthropic", "openrouter:z-ai/glm-4.6@openai"],
    ],
    [
      "haiku request (thinking enabled) → background glm-4.5-air",
      haikuRequest(),
      "background",
      "glm-4.5-air",
      ["zai coding plan:glm-4.5-air@anthropic"],
    ],
    [
      "thinking enabled on opus → think claude-opus",
      mainRequest({ thinking: { type: "enabled", budget_tokens: 16000 } }),
      "think",
      "claude-opus",
      ["claude-max:claude-opus-4-1@anthropic"],
    ],
    [
      "web_search tool → websearch glm-4.6",
      mainRequest({ tools: [webSearch] }),
      "websearch",
      "glm-4.6",
      ["zai coding plan:glm-4.6@anthropic", "openrouter:z-ai/glm-4.6@openai"],
    ],
    [
      "long input with no long_context key → default",
      mainRequest({ messages: longMessages }),
      "default",
      "claude-sonnet",
      ["claude-max:claude-sonnet-4-5@anthropic", "openrouter:z-ai/glm-4.6@openai"],
    ],
    [
      "subagent tag in system[1] → its model",
      mainRequest({
        system: [
          { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.197" },
          { type: "text", text: "<CCM-SUBAGENT-MODEL>glm-4.6</CCM-SUBAGENT-MODEL>\nReview." },
        ],
      }),
      "subagent",
      "glm-4.6",
      ["zai coding plan:glm-4.6@anthropic", "openrouter:z-ai/glm-4.6@openai"],
    ],
    [
      "--model glm-4.5-air (a [[models]] name)",
      mainRequest({ model: "glm-4.5-air" }),
      "model",
      "glm-4.5-air",
      ["zai coding plan:glm-4.5-air@anthropic"],
    ],
    [
      "--model openrouter/moonshotai/kimi-k2",
      mainRequest({ model: "openrouter/moonshotai/kimi-k2" }),
      "model",
      "openrouter/moonshotai/kimi-k2",
      ["openrouter:moonshotai/kimi-k2@openai"],
    ],
    [
      "--model 'zai coding plan/glm-4.6' (a provider name with spaces)",
      mainRequest({ model: "zai coding plan/glm-4.6" }),
      "model",
      "zai coding plan/glm-4.6",
      ["zai coding plan:glm-4.6@anthropic"],
    ],
  ];
  for (const [name, body, rule, model, expected] of cases) {
    test(name, () => {
      const d = route(config, body);
      assert.equal(d.rule, rule);
      assert.equal(d.model, model);
      assert.deepEqual(cands(d), expected);
    });
  }

  test("providers carry their preset's base_url and the key from the environment", () => {
    const byName = new Map(config.providers.map((p) => [p.name, p]));
    assert.equal(byName.get("claude-max")!.base_url, "https://api.anthropic.com");
    assert.equal(byName.get("claude-max")!.auth_type, "oauth");
    assert.equal(byName.get("zai coding plan")!.base_url, "https://api.z.ai/api/anthropic");
    assert.equal(byName.get("zai coding plan")!.api_key, ENV.ZAI_API_KEY);
    assert.equal(byName.get("openrouter")!.base_url, "https://openrouter.ai/api/v1");
    assert.equal(byName.get("openrouter")!.auth_type, "apikey");
  });

  test("a model nothing names → 404 listing the choices", () => {
    assert.throws(() => route(config, mainRequest({ model: "gpt-5" })), (e: unknown) => {
      assert.ok(e instanceof RouteError);
      assert.equal(e.status, 404);
      assert.match(e.message, /"gpt-5".*claude-sonnet.*glm-4\.5-air/);
      return true;
    });
  });

  test("X-Provider: openrouter keeps only its mapping of the default", () => {
    const d = route(config, mainRequest(), { "x-provider": "openrouter" });
    assert.equal(d.rule, "default");
    assert.deepEqual(cands(d), ["openrouter:z-ai/glm-4.6@openai"]);
  });
});

describe("config/multi-provider.example.toml", () => {
  const config = load("multi-provider.example.toml");

  const cases: [string, Obj, RouteDecision["rule"], string, string[]][] = [
    [
      "main request → default sonnet, Claude Max first, API key second",
      mainRequest(),
      "default",
      "sonnet",
      ["claude-max:claude-sonnet-4-5@anthropic", "anthropic-api:claude-sonnet-4-5@anthropic"],
    ],
    [
      "haiku request → background fast (OpenRouter first)",
      haikuRequest(),
      "background",
      "fast",
      ["openrouter:qwen/qwen3-coder@openai", "anthropic-api:claude-haiku-4-5@anthropic"],
    ],
    [
      "thinking enabled → think opus",
      mainRequest({ model: "claude-sonnet-5", thinking: { type: "enabled", budget_tokens: 8000 } }),
      "think",
      "opus",
      ["claude-max:claude-opus-4-1@anthropic", "anthropic-api:claude-opus-4-1@anthropic"],
    ],
    [
      "over 120000 estimated tokens → long_context sonnet (even for haiku)",
      haikuRequest({ messages: longMessages }),
      "long_context",
      "sonnet",
      ["claude-max:claude-sonnet-4-5@anthropic", "anthropic-api:claude-sonnet-4-5@anthropic"],
    ],
    [
      "no websearch key: a web search request follows the other rules",
      mainRequest({ tools: [webSearch] }),
      "default",
      "sonnet",
      ["claude-max:claude-sonnet-4-5@anthropic", "anthropic-api:claude-sonnet-4-5@anthropic"],
    ],
    [
      "a model the openrouter provider lists",
      mainRequest({ model: "qwen/qwen3-coder" }),
      "model",
      "qwen/qwen3-coder",
      ["openrouter:qwen/qwen3-coder@openai"],
    ],
  ];
  for (const [name, body, rule, model, expected] of cases) {
    test(name, () => {
      const d = route(config, body);
      assert.equal(d.rule, rule);
      assert.equal(d.model, model);
      assert.deepEqual(cands(d), expected);
    });
  }

  test("router keys beyond the rules are read", () => {
    assert.equal(config.router.long_context_threshold, 120000);
    assert.equal(config.router.cooldown_s, 30);
  });

  test("the disabled local provider is never chosen", () => {
    assert.throws(
      () => route(config, mainRequest({ model: "local/llama3" })),
      (e) => e instanceof RouteError && e.status === 404,
    );
    assert.throws(
      () => route(config, mainRequest(), { "x-provider": "local" }),
      (e) => e instanceof RouteError && e.status === 400 && /disabled/.test(e.message),
    );
  });
});
