// Route selection (docs/CONFIG.md, "How a request is routed"): every rule, their precedence, name resolution, X-Provider,
// disabled providers, the fallback and the errors; the subagent tag's removal; the estimate.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import type { Config } from "../src/config/mod.ts";
import { selectRoute } from "../src/proxy/router.ts";
import { RouteError } from "../src/proxy/route_types.ts";
import type { RouteDecision } from "../src/proxy/route_types.ts";
import { estimateInputTokens, IMAGE_TOKENS } from "../src/proxy/estimate.ts";
import { haikuRequest, mainRequest } from "./helpers/cc_requests.ts";

type Obj = Record<string, unknown>;
const ENV = { HOME: "/nonexistent", KEY: "k-test" };

const FULL = `
[router]
default = "sonnet"
background = "bg"
think = "opus"
websearch = "search"
long_context = "long"
long_context_threshold = 50000

[[providers]]
name = "claude-max"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "claude-max"

[[providers]]
name = "zai"
provider_type = "z.ai"
api_key = "$KEY"

[[providers]]
name = "OpenRouter"
provider_type = "openrouter"
api_key = "$KEY"
models = ["qwen/qwen3-coder", "Kimi-K2"]

[[providers]]
name = "off"
provider_type = "groq"
api_key = "$KEY"
enabled = false
models = ["llama-off"]

[[models]]
name = "sonnet"
[[models.mappings]]
provider = "openrouter"
actual_model = "anthropic/claude-sonnet-4.5"
priority = 2
[[models.mappings]]
provider = "claude-max"
actual_model = "claude-sonnet-4-5"
priority = 1

[[models]]
name = "opus"
[[models.mappings]]
provider = "claude-max"
actual_model = "claude-opus-4-1"

[[models]]
name = "bg"
[[models.mappings]]
provider = "zai"
actual_model = "glm-4.5-air"

[[models]]
name = "search"
[[models.mappings]]
provider = "zai"
actual_model = "glm-4.6"
[[models.mappings]]
provider = "openrouter"
actual_model = "z-ai/glm-4.6"

[[models]]
name = "long"
[[models.mappings]]
provider = "openrouter"
actual_model = "google/gemini-2.5-pro"

[[models]]
name = "GLM-Sub"
[[models.mappings]]
provider = "zai"
actual_model = "glm-4.6"
strip_beta_options = true

[[models]]
name = "half-off"
[[models.mappings]]
provider = "off"
actual_model = "llama-3"
priority = 1
[[models.mappings]]
provider = "zai"
actual_model = "glm-4.5"
priority = 2
strip_specific_beta = ["context-1m-2025-08-07"]

[[models]]
name = "all-off"
[[models.mappings]]
provider = "off"
actual_model = "llama-3"
`;

const full = parseConfig(FULL, "full.toml", ENV);

const TAG = "<CCM-SUBAGENT-MODEL>glm-sub</CCM-SUBAGENT-MODEL>";

/** The main request with the subagent tag put into system[i] (as claude-code-mux users do). */
function tagged(i: number, text = `\n${TAG}\n`): Obj {
  const body = mainRequest();
  const sys = body.system as Obj[];
  sys[i] = { ...sys[i], text: `${sys[i].text}${text}` };
  return body;
}

function longText(tokens: number): string {
  return "word ".repeat(Math.ceil(tokens * 4 / 5));
}

function route(config: Config, body: Obj, headers: Record<string, string> = {}): RouteDecision {
  return selectRoute(config, body, new Headers(headers));
}

/** "provider:actual_model" for each candidate, in order. */
function cands(d: RouteDecision): string[] {
  return d.candidates.map((c) => `${c.provider.name}:${c.actual_model}`);
}

interface Row {
  name: string;
  body: Obj;
  headers?: Record<string, string>;
  config?: Config;
  rule?: RouteDecision["rule"];
  model?: string;
  candidates?: string[];
  /** Expected RouteError status and a fragment of its message. */
  error?: [400 | 404, string];
}

const webSearch = (type: string) => ({ type, name: "web_search", max_uses: 8 });

const ROWS: Row[] = [
  // 1. subagent tag
  {
    name: "tag in system[0]",
    body: tagged(0),
    rule: "subagent",
    model: "glm-sub",
    candidates: ["zai:glm-4.6"],
  },
  { name: "tag in system[1]", body: tagged(1), rule: "subagent", candidates: ["zai:glm-4.6"] },
  { name: "tag in a later block", body: tagged(2), rule: "subagent", candidates: ["zai:glm-4.6"] },
  {
    name: "tag in a string system",
    body: mainRequest({ system: `You are a helper.\n${TAG}` }),
    rule: "subagent",
    candidates: ["zai:glm-4.6"],
  },
  {
    name: "tag beats websearch, long_context, background and think",
    body: haikuRequest({
      system: [{ type: "text", text: TAG }],
      tools: [webSearch("web_search_20250305")],
      messages: [{ role: "user", content: longText(60000) }],
    }),
    rule: "subagent",
    candidates: ["zai:glm-4.6"],
  },
  {
    name: "tag naming provider/model",
    body: mainRequest({ system: "<CCM-SUBAGENT-MODEL>zai/glm-4.5</CCM-SUBAGENT-MODEL>" }),
    rule: "subagent",
    candidates: ["zai:glm-4.5"],
  },
  {
    name: "tag naming an unknown model is a 404",
    body: mainRequest({ system: "<CCM-SUBAGENT-MODEL>nope-1</CCM-SUBAGENT-MODEL>" }),
    error: [404, "nope-1"],
  },
  // 2. websearch
  {
    name: "websearch tool web_search_20250305",
    body: mainRequest({ tools: [webSearch("web_search_20250305")] }),
    rule: "websearch",
    model: "search",
    candidates: ["zai:glm-4.6", "OpenRouter:z-ai/glm-4.6"],
  },
  {
    name: "websearch tool of a later version among Claude Code's tools",
    body: mainRequest({
      tools: [...(mainRequest().tools as Obj[]), webSearch("web_search_20260101")],
    }),
    rule: "websearch",
  },
  {
    name: "a custom tool named web_search is not the server tool",
    body: mainRequest({
      tools: [{ name: "web_search", description: "d", input_schema: { type: "object" } }],
    }),
    rule: "default",
  },
  {
    name: "websearch beats long_context",
    body: mainRequest({
      tools: [webSearch("web_search_20250305")],
      messages: [{ role: "user", content: longText(60000) }],
    }),
    rule: "websearch",
  },
  // 3. long_context
  {
    name: "over long_context_threshold",
    body: mainRequest({ messages: [{ role: "user", content: longText(60000) }] }),
    rule: "long_context",
    model: "long",
    candidates: ["OpenRouter:google/gemini-2.5-pro"],
  },
  {
    name: "under long_context_threshold",
    body: mainRequest({ messages: [{ role: "user", content: longText(30000) }] }),
    rule: "default",
  },
  {
    name: "long_context beats background",
    body: haikuRequest({ messages: [{ role: "user", content: longText(60000) }] }),
    rule: "long_context",
  },
  // 4. background before 5. think
  {
    name: "Claude Code haiku request (thinking enabled, budget 31999) is background, not think",
    body: haikuRequest(),
    rule: "background",
    model: "bg",
    candidates: ["zai:glm-4.5-air"],
  },
  {
    name: "background_regex is case-insensitive by default",
    body: mainRequest({ model: "Claude-3-5-HAIKU-20241022" }),
    rule: "background",
  },
  {
    name: "think: thinking enabled on a non-haiku model",
    body: mainRequest({ thinking: { type: "enabled", budget_tokens: 10000 } }),
    rule: "think",
    model: "opus",
    candidates: ["claude-max:claude-opus-4-1"],
  },
  {
    name: "adaptive thinking is not think",
    body: mainRequest({ thinking: { type: "adaptive" } }),
    rule: "default",
  },
  {
    name: "disabled thinking is not think",
    body: mainRequest({ thinking: { type: "disabled" } }),
    rule: "default",
  },
  // 6. default (auto_map_regex)
  {
    name: "auto-mapped claude model → default, mappings in priority order",
    body: mainRequest({ model: "claude-sonnet-5" }),
    rule: "default",
    model: "sonnet",
    candidates: ["claude-max:claude-sonnet-4-5", "OpenRouter:anthropic/claude-sonnet-4.5"],
  },
  // 7. the model itself
  {
    name: "a [[models]] name, case-insensitive, keeps its mapping options",
    body: mainRequest({ model: "GLM-SUB" }),
    rule: "model",
    model: "GLM-SUB",
    candidates: ["zai:glm-4.6"],
  },
  {
    name: "provider/model with a case-insensitive provider name",
    body: mainRequest({ model: "openrouter/moonshotai/Kimi-K2-0905" }),
    rule: "model",
    candidates: ["OpenRouter:moonshotai/Kimi-K2-0905"],
  },
  {
    name: "a model a provider lists (slash inside, listed spelling sent)",
    body: mainRequest({ model: "QWEN/Qwen3-Coder" }),
    rule: "model",
    candidates: ["OpenRouter:qwen/qwen3-coder"],
  },
  {
    name: "a model a provider lists",
    body: mainRequest({ model: "kimi-k2" }),
    rule: "model",
    candidates: ["OpenRouter:Kimi-K2"],
  },
  // disabled providers
  {
    name: "disabled provider's mapping is skipped",
    body: mainRequest({ model: "half-off" }),
    rule: "model",
    candidates: ["zai:glm-4.5"],
  },
  {
    name: "a model whose only provider is disabled is a 404",
    body: mainRequest({ model: "all-off" }),
    error: [404, "no enabled provider"],
  },
  {
    name: "provider/model of a disabled provider is a 404",
    body: mainRequest({ model: "off/llama-3" }),
    error: [404, "no enabled provider"],
  },
  {
    name: "a model only a disabled provider lists is not configured",
    body: mainRequest({ model: "llama-off" }),
    error: [404, "not configured"],
  },
  // not found, bad requests
  {
    name: "unknown model with [[models]] → 404 naming the model and the choices",
    body: mainRequest({ model: "gpt-5" }),
    error: [404, `"gpt-5"`],
  },
  { name: "missing model → 400", body: mainRequest({ model: undefined }), error: [400, "model"] },
  // X-Provider
  {
    name: "X-Provider narrows the default's mappings",
    body: mainRequest({ model: "claude-sonnet-5" }),
    headers: { "X-Provider": "openrouter" },
    rule: "default",
    candidates: ["OpenRouter:anthropic/claude-sonnet-4.5"],
  },
  {
    name: "X-Provider passes over rules it excludes and sends a bare name unchanged",
    body: mainRequest({ model: "claude-sonnet-5" }),
    headers: { "x-provider": "ZAI" },
    rule: "model",
    model: "claude-sonnet-5",
    candidates: ["zai:claude-sonnet-5"],
  },
  {
    name: "X-Provider keeps a rule whose target it serves",
    body: haikuRequest(),
    headers: { "x-provider": "zai" },
    rule: "background",
    candidates: ["zai:glm-4.5-air"],
  },
  {
    name: "X-Provider with a listed model of another provider sends it unchanged",
    body: mainRequest({ model: "kimi-k2" }),
    headers: { "x-provider": "zai" },
    candidates: ["zai:kimi-k2"],
  },
  {
    name: "X-Provider naming an unknown provider → 400",
    body: mainRequest(),
    headers: { "x-provider": "nobody" },
    error: [400, "nobody"],
  },
  {
    name: "X-Provider naming a disabled provider → 400",
    body: mainRequest(),
    headers: { "x-provider": "off" },
    error: [400, "disabled"],
  },
  {
    name: "X-Provider and a [[models]] name it does not serve → 400",
    body: mainRequest({ model: "opus" }),
    headers: { "x-provider": "zai" },
    error: [400, "does not serve"],
  },
  {
    name: "X-Provider and provider/model of another provider → 400",
    body: mainRequest({ model: "openrouter/x" }),
    headers: { "x-provider": "zai" },
    error: [400, "does not serve"],
  },
];

describe("selectRoute: rules, precedence and resolution", () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const config = row.config ?? full;
      if (row.error) {
        assert.throws(() => route(config, row.body, row.headers), (e: unknown) => {
          assert.ok(e instanceof RouteError, String(e));
          assert.equal(e.status, row.error![0]);
          assert.match(e.message, new RegExp(row.error![1].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
          return true;
        });
        return;
      }
      const d = route(config, row.body, row.headers);
      if (row.rule) assert.equal(d.rule, row.rule);
      if (row.model) assert.equal(d.model, row.model);
      if (row.candidates) assert.deepEqual(cands(d), row.candidates);
      assert.ok(d.candidates.length > 0);
      assert.equal(d.bodyChanged, d.rule === "subagent");
    });
  }

  test("mapping options travel with the candidate", () => {
    const a = route(full, mainRequest({ model: "glm-sub" })).candidates[0];
    assert.equal(a.strip_beta_options, true);
    assert.equal(a.provider.api, "anthropic");
    assert.equal(a.provider.base_url, "https://api.z.ai/api/anthropic");
    const b = route(full, mainRequest({ model: "half-off" })).candidates[0];
    assert.deepEqual(b.strip_specific_beta, ["context-1m-2025-08-07"]);
    assert.equal(b.strip_beta_options, false);
  });

  test("a request without a tag is not touched", () => {
    const body = mainRequest();
    const before = structuredClone(body);
    const d = route(full, body);
    assert.equal(d.bodyChanged, false);
    assert.deepEqual(body, before);
  });
});

describe("selectRoute: rules left unset, custom regexes, fallback", () => {
  const noRules = parseConfig(
    FULL.replace(/\[router\][\s\S]*?\n\n/, '[router]\ndefault = "sonnet"\n\n'),
    "no-rules.toml",
    ENV,
  );

  test("unset rules are passed over: haiku, think and web search go to default", () => {
    for (
      const body of [
        haikuRequest(),
        mainRequest({ thinking: { type: "enabled", budget_tokens: 5 } }),
        mainRequest({ tools: [webSearch("web_search_20250305")] }),
        mainRequest({ messages: [{ role: "user", content: longText(200000) }] }),
      ]
    ) {
      assert.equal(route(noRules, body).rule, "default");
    }
  });

  test("without router.default a claude model is looked up by name (404 here)", () => {
    const none = parseConfig(FULL.replace(/\[router\][\s\S]*?\n\n/, ""), "none.toml", ENV);
    assert.throws(() => route(none, mainRequest()), (e) => (e as RouteError).status === 404);
    assert.equal(route(none, mainRequest({ model: "opus" })).rule, "model");
  });

  test("custom auto_map_regex and background_regex", () => {
    const custom = parseConfig(
      FULL.replace(
        "long_context_threshold = 50000",
        `long_context_threshold = 50000\nauto_map_regex = "^(claude-|gpt-)"\n` +
          `background_regex = "(?i)-mini$"`,
      ),
      "custom.toml",
      ENV,
    );
    assert.equal(route(custom, mainRequest({ model: "gpt-4.1" })).rule, "default");
    assert.equal(route(custom, mainRequest({ model: "GPT-4.1-MINI" })).rule, "background");
    // haiku no longer matches background: with thinking enabled it is think
    assert.equal(route(custom, haikuRequest()).rule, "think");
    // with the default "^claude-" it is not auto-mapped, and no [[models]] name matches
    assert.throws(() => route(full, mainRequest({ model: "gpt-4.1" })), /"gpt-4\.1"/);
  });

  test("a rule whose target has only disabled providers is passed over", () => {
    const cfg = parseConfig(
      FULL.replace(`background = "bg"`, `background = "all-off"`),
      "bg-off.toml",
      ENV,
    );
    assert.equal(route(cfg, haikuRequest()).rule, "think");
  });

  test("no [[models]]: every model goes unchanged to the first enabled provider", () => {
    const cfg = parseConfig(
      `[[providers]]\nname = "down"\nprovider_type = "anthropic"\napi_key = "$KEY"\n` +
        `enabled = false\n\n` +
        `[[providers]]\nname = "anthropic"\nprovider_type = "anthropic"\napi_key = "$KEY"\n`,
      "plain.toml",
      ENV,
    );
    for (const model of ["claude-opus-4-8", "claude-haiku-4-5-20251001", "Whatever-1"]) {
      const d = route(cfg, haikuRequest({ model }));
      assert.equal(d.rule, "fallback");
      assert.equal(d.model, model);
      assert.deepEqual(cands(d), [`anthropic:${model}`]);
    }
    // provider/model still picks the provider; the rest is the model
    assert.deepEqual(cands(route(cfg, mainRequest({ model: "anthropic/claude-x" }))), [
      "anthropic:claude-x",
    ]);
  });

  test("the embedded default (no file) routes every model unchanged", () => {
    const cfg = parseConfig("", "(embedded default)", { HOME: "/nonexistent" });
    const d = route(cfg, mainRequest({ model: "claude-sonnet-5" }));
    assert.equal(d.rule, "fallback");
    assert.deepEqual(cands(d), ["anthropic:claude-sonnet-5"]);
    assert.equal(d.candidates[0].provider.base_url, "https://api.anthropic.com");
  });

  test("one provider, no [[models]]: a provider/model target is sent to it", () => {
    const cfg = parseConfig(
      `[router]\nbackground = "a/claude-haiku-4-5"\n\n` +
        `[[providers]]\nname = "a"\nprovider_type = "anthropic"\napi_key = "$KEY"\n`,
      "one.toml",
      ENV,
    );
    const d = route(cfg, haikuRequest());
    assert.equal(d.rule, "background");
    assert.deepEqual(cands(d), ["a:claude-haiku-4-5"]);
  });
});

describe("subagent tag removal", () => {
  const sysOf = (body: Obj) => body.system as Obj[];

  test("the tag and its line break leave system[1]; cache_control stays", () => {
    const body = mainRequest();
    sysOf(body)[1].text = `You are Claude Code.\n${TAG}\nBe brief.`;
    const d = route(full, body);
    assert.equal(d.bodyChanged, true);
    assert.equal(sysOf(body)[1].text, "You are Claude Code.\nBe brief.");
    assert.deepEqual(sysOf(body)[1].cache_control, { type: "ephemeral" });
    assert.equal(sysOf(body).length, 3);
  });

  test("inside a line the tag leaves one space", () => {
    const body = tagged(2, ` ${TAG} and more`);
    route(full, body);
    const text = sysOf(body)[2].text as string;
    assert.ok(text.endsWith("Be concise.\n and more"), JSON.stringify(text.slice(-30)));
    assert.ok(!text.includes("CCM-SUBAGENT"));
  });

  test("a tag after a sentence leaves the sentence and the line break apart", () => {
    const cases: [string, string][] = [
      [`Sub agent.  ${TAG}\nDo it.`, "Sub agent.  \nDo it."],
      [`Sub agent. ${TAG} Do it.`, "Sub agent. Do it."],
      [`Sub agent.${TAG} Do it.`, "Sub agent. Do it."],
      [`Sub agent.\t${TAG}\r\nDo it.`, "Sub agent.\t\r\nDo it."],
      [`One.\n  ${TAG}  \nTwo.`, "One.\nTwo."],
      [`One.\n${TAG}\n\nTwo.`, "One.\n\nTwo."],
      [`A ${TAG} ${TAG} B`, "A B"],
    ];
    for (const [text, want] of cases) {
      const body = mainRequest({ system: text });
      route(full, body);
      assert.equal(body.system, want, JSON.stringify(text));
    }
  });

  test("a block holding only the tag is dropped; the others are kept in order", () => {
    const body = mainRequest();
    sysOf(body).splice(1, 0, { type: "text", text: `  ${TAG}\n` });
    assert.equal(sysOf(body).length, 4);
    route(full, body);
    assert.equal(sysOf(body).length, 3);
    assert.deepEqual(sysOf(body).map((b) => (b.text as string).slice(0, 12)), [
      "x-anthropic-",
      "You are Clau",
      "You are an i",
    ]);
  });

  test("a string system holding only the tag is removed", () => {
    const body = mainRequest({ system: TAG });
    assert.equal(route(full, body).rule, "subagent");
    assert.equal("system" in body, false);
  });

  test("a tag at the start of a string system", () => {
    const body = mainRequest({ system: `${TAG}\n\nYou are a reviewer.` });
    route(full, body);
    assert.equal(body.system, "You are a reviewer.");
  });

  test("an empty tag is removed and routing goes on", () => {
    const body = mainRequest({
      system: "A<CCM-SUBAGENT-MODEL> </CCM-SUBAGENT-MODEL>",
      model: "claude-sonnet-5",
    });
    const d = route(full, body);
    assert.equal(d.rule, "default");
    assert.equal(d.bodyChanged, true);
    assert.equal(body.system, "A");
  });

  test("the first tag wins and every tag is removed", () => {
    const body = mainRequest();
    sysOf(body)[0].text = `${TAG}`;
    sysOf(body)[2].text = "<CCM-SUBAGENT-MODEL>opus</CCM-SUBAGENT-MODEL>\nrest";
    const d = route(full, body);
    assert.equal(d.model, "glm-sub");
    assert.equal(sysOf(body).length, 2);
    assert.equal(sysOf(body)[1].text, "rest");
  });
});

describe("estimateInputTokens", () => {
  test("characters / 4 over system, messages and tool_use/tool_result", () => {
    const body = {
      system: "a".repeat(400),
      messages: [
        { role: "user", content: "b".repeat(400) },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "c".repeat(400), signature: "s".repeat(5000) },
            { type: "text", text: "d".repeat(400) },
          ],
        },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "t", content: "e".repeat(400) }],
        },
      ],
    };
    assert.equal(estimateInputTokens(body), 500);
  });

  test("images cost a fixed amount", () => {
    const image = { type: "image", source: { type: "base64", data: "x".repeat(100000) } };
    assert.equal(
      estimateInputTokens({ messages: [{ role: "user", content: [image, image] }] }),
      2 * IMAGE_TOKENS,
    );
  });

  test("a Claude Code request is close to its JSON size / 4", () => {
    const body = mainRequest();
    const json = JSON.stringify({ s: body.system, m: body.messages, t: body.tools }).length;
    const est = estimateInputTokens(body);
    assert.ok(est > json / 4 * 0.8 && est < json / 4 * 1.1, `${est} vs ${json / 4}`);
    assert.ok(est > 10000, String(est));
  });
});
