// Anthropic Messages request → OpenAI Chat Completions request: a Claude-Code-shaped multi-turn
// conversation translated exactly, and each option and mapping on its own.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { anthropicToOpenAI, reasoningEffort, translateTools } from "../src/translate/request.ts";
import type { AnthropicRequest } from "../src/translate/types.ts";

const OPTS = { model: "gpt-4.1", maxCompletionTokens: false, maxOutputTokens: 0 };

const BASH_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: {
    command: { type: "string", description: "The command to execute" },
    timeout: { type: "number", maximum: 600000 },
    mode: { type: "string", enum: ["a", "b"] },
    env: { type: "object", additionalProperties: { type: "string" } },
    edits: {
      type: "array",
      items: {
        anyOf: [
          { type: "object", properties: { old: { type: "string" } }, required: ["old"] },
          { type: "null" },
        ],
      },
      minItems: 1,
    },
  },
  required: ["command"],
  additionalProperties: false,
};

const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/** What Claude Code really sends, trimmed to a few tools and turns. */
function claudeCodeBody(): AnthropicRequest {
  return {
    model: "claude-sonnet-5",
    max_tokens: 64000,
    stream: true,
    temperature: 1,
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.197" },
      {
        type: "text",
        text: "You are Claude Code, Anthropic's official CLI for Claude.",
        cache_control: { type: "ephemeral" },
      },
      { type: "text", text: "Use tools well.", cache_control: { type: "ephemeral", ttl: "1h" } },
    ],
    tools: [
      { name: "Bash", description: "Run a shell command", input_schema: BASH_SCHEMA },
      {
        name: "Read",
        description: "Read a file",
        input_schema: { type: "object", properties: { file_path: { type: "string" } } },
        cache_control: { type: "ephemeral" },
      },
      { type: "web_search_20250305", name: "web_search", max_uses: 5 },
      { type: "custom", name: "mcp__x__y", input_schema: { type: "object" } },
    ],
    tool_choice: { type: "auto" },
    thinking: { type: "adaptive" },
    output_config: { effort: "high" },
    context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
    metadata: { user_id: '{"device_id":"abc","session_id":"s"}' },
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "<system-reminder>ctx</system-reminder>" },
          { type: "text", text: "What is in this picture?", cache_control: { type: "ephemeral" } },
          { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "Let me check.", signature: "sig" },
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "toolu_01A", name: "Bash", input: { command: "ls" } },
          { type: "tool_use", id: "toolu_01B", name: "Read", input: { file_path: "/a.png" } },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: "toolu_01A",
            content: "<tool_use_error>denied</tool_use_error>",
            is_error: true,
            cache_control: { type: "ephemeral" },
          },
          {
            type: "tool_result",
            tool_use_id: "toolu_01B",
            content: [
              { type: "text", text: "Read image" },
              { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
            ],
          },
          { type: "text", text: "Go on." },
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "It is a pixel." }] },
      { role: "user", content: "Thanks" },
      { role: "system", content: "Reminder: be brief." },
    ],
  };
}

describe("anthropicToOpenAI", () => {
  test("Claude Code's x-anthropic-billing-header block is Anthropic's: dropped, the rest kept", () => {
    const out = anthropicToOpenAI({
      messages: [{ role: "user", content: "hi" }],
      system: [
        { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.332; cc_entrypoint=cli" },
        { type: "text", text: "Be brief." },
        { type: "text", text: "Quote: x-anthropic-billing-header: stays inside other text." },
      ],
    }, OPTS);
    assert.deepEqual(out.messages[0], {
      role: "system",
      content: "Be brief.\n\nQuote: x-anthropic-billing-header: stays inside other text.",
    });
    const only = anthropicToOpenAI({
      messages: [{ role: "user", content: "hi" }],
      system: [{ type: "text", text: "x-anthropic-billing-header: cc_version=2.1.332" }],
    }, OPTS);
    assert.deepEqual(only.messages, [{ role: "user", content: "hi" }]);
  });

  test("a Claude-Code-shaped conversation translates exactly", () => {
    const body = claudeCodeBody();
    const before = JSON.stringify(body);
    const out = anthropicToOpenAI(body, OPTS);
    assert.equal(JSON.stringify(body), before, "the input is not mutated");
    const { $schema: _, ...bashParams } = BASH_SCHEMA;
    assert.deepEqual(out, {
      model: "gpt-4.1",
      messages: [
        {
          role: "system",
          content:
            "You are Claude Code, Anthropic's official CLI for Claude.\n\nUse tools well.\n\n" +
            "Reminder: be brief.",
        },
        {
          role: "user",
          content: [
            { type: "text", text: "<system-reminder>ctx</system-reminder>" },
            { type: "text", text: "What is in this picture?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [
            {
              id: "toolu_01A",
              type: "function",
              function: { name: "Bash", arguments: '{"command":"ls"}' },
            },
            {
              id: "toolu_01B",
              type: "function",
              function: { name: "Read", arguments: '{"file_path":"/a.png"}' },
            },
          ],
        },
        {
          role: "tool",
          tool_call_id: "toolu_01A",
          content: "Error: <tool_use_error>denied</tool_use_error>",
        },
        { role: "tool", tool_call_id: "toolu_01B", content: "Read image" },
        {
          role: "user",
          content: [
            { type: "text", text: "[attachment of tool result toolu_01B]" },
            { type: "image_url", image_url: { url: "https://example.com/a.png" } },
            { type: "text", text: "Go on." },
          ],
        },
        { role: "assistant", content: "It is a pixel." },
        { role: "user", content: "Thanks" },
      ],
      max_tokens: 64000,
      temperature: 1,
      stream: true,
      stream_options: { include_usage: true },
      tools: [
        {
          type: "function",
          function: { name: "Bash", description: "Run a shell command", parameters: bashParams },
        },
        {
          type: "function",
          function: {
            name: "Read",
            description: "Read a file",
            parameters: { type: "object", properties: { file_path: { type: "string" } } },
          },
        },
        { type: "function", function: { name: "mcp__x__y", parameters: { type: "object" } } },
      ],
      tool_choice: "auto",
      reasoning_effort: "high",
    });
    // Schemas without $schema are shared, not copied (no needless work on 24 tool schemas).
    assert.equal(out.tools![1].function.parameters, body.tools![1].input_schema);
  });

  test("a role:system message is kept in place with systemMessages: inline", () => {
    const out = anthropicToOpenAI({
      system: "S",
      messages: [{ role: "user", content: "u" }, { role: "system", content: "late" }],
    }, { ...OPTS, systemMessages: "inline" });
    assert.deepEqual(out.messages, [
      { role: "system", content: "S" },
      { role: "user", content: "u" },
      { role: "system", content: "late" },
    ]);
    const none = anthropicToOpenAI({ messages: [{ role: "user", content: "u" }] }, OPTS);
    assert.deepEqual(none.messages, [{ role: "user", content: "u" }]);
  });

  test("max tokens: clamp and max_completion_tokens", () => {
    const body = { max_tokens: 32000, messages: [] };
    assert.equal(anthropicToOpenAI(body, { ...OPTS, maxOutputTokens: 8192 }).max_tokens, 8192);
    assert.equal(anthropicToOpenAI(body, { ...OPTS, maxOutputTokens: 64000 }).max_tokens, 32000);
    const mct = anthropicToOpenAI(body, {
      ...OPTS,
      maxCompletionTokens: true,
      maxOutputTokens: 100,
    });
    assert.equal(mct.max_completion_tokens, 100);
    assert.equal("max_tokens" in mct, false);
  });

  test("sampling, stop sequences, non-streaming", () => {
    const out = anthropicToOpenAI({
      messages: [],
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ["END", "STOP"],
      stream: false,
    }, OPTS);
    assert.deepEqual(out, { model: "gpt-4.1", messages: [], top_p: 0.9, stop: ["END", "STOP"] });
  });

  test("tool_choice mappings and parallel tool use", () => {
    const tools = [{ name: "f", input_schema: { type: "object" } }];
    const choice = (c: unknown) =>
      anthropicToOpenAI({ messages: [], tools, tool_choice: c } as AnthropicRequest, OPTS);
    assert.equal(choice({ type: "auto" }).tool_choice, "auto");
    assert.equal(choice({ type: "any" }).tool_choice, "required");
    assert.equal(choice({ type: "none" }).tool_choice, "none");
    assert.deepEqual(choice({ type: "tool", name: "f" }).tool_choice, {
      type: "function",
      function: { name: "f" },
    });
    assert.equal(
      choice({ type: "auto", disable_parallel_tool_use: true }).parallel_tool_calls,
      false,
    );
    // No tools left (empty list, or only server tools): neither tools nor tool_choice is sent.
    const empty = anthropicToOpenAI(
      { messages: [], tools: [], tool_choice: { type: "auto" } },
      OPTS,
    );
    assert.equal("tools" in empty || "tool_choice" in empty, false);
    assert.deepEqual(
      translateTools([{ type: "web_search_20250305", name: "web_search" }, {
        type: "bash_20250124",
        name: "bash",
      }]),
      [],
    );
  });

  test("thinking → reasoning_effort, and reasoning: off", () => {
    const eff = (thinking: unknown, output_config?: unknown) =>
      reasoningEffort({ thinking, output_config } as AnthropicRequest);
    assert.equal(eff({ type: "enabled", budget_tokens: 1024 }), "low");
    assert.equal(eff({ type: "enabled", budget_tokens: 4096 }), "low");
    assert.equal(eff({ type: "enabled", budget_tokens: 10000 }), "medium");
    assert.equal(eff({ type: "enabled", budget_tokens: 31999 }), "high");
    assert.equal(eff({ type: "adaptive" }), undefined);
    assert.equal(eff({ type: "adaptive" }, { effort: "low" }), "low");
    assert.equal(eff({ type: "adaptive" }, { effort: "max" }), "high");
    assert.equal(eff({ type: "disabled" }, { effort: "high" }), undefined);
    const off = anthropicToOpenAI(
      { messages: [], thinking: { type: "enabled", budget_tokens: 31999 } },
      { ...OPTS, reasoning: "off" },
    );
    assert.equal("reasoning_effort" in off, false);
  });

  test("documents, tool-only assistant turns and tool results without content", () => {
    const out = anthropicToOpenAI({
      messages: [
        {
          role: "user",
          content: [
            { type: "document", source: { type: "text", media_type: "text/plain", data: "notes" } },
            {
              type: "document",
              title: "spec.pdf",
              source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" },
            },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "redacted_thinking", data: "xyz" },
            { type: "tool_use", id: "t1", name: "f", input: {} },
          ],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1" }] },
        { role: "assistant", content: [{ type: "thinking", thinking: "only", signature: "" }] },
      ],
    }, OPTS);
    assert.deepEqual(out.messages, [
      {
        role: "user",
        content: [
          { type: "text", text: "notes" },
          {
            type: "file",
            file: { filename: "spec.pdf", file_data: "data:application/pdf;base64,JVBERi0=" },
          },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "t1", content: "" },
    ]);
  });
});
