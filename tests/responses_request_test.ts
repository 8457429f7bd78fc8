// Anthropic request → Responses request: the Codex body rules, Claude Code's real request
// shapes, content of every kind, tools and their names, call ids across turns, reasoning and
// thinking by signature family, the prompt_cache_key, and 400s that name the field.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  anthropicToResponses,
  DEFAULT_INSTRUCTIONS,
  type ResponsesRequestOptions,
} from "../src/translate/responses/request.ts";
import { callIdOf } from "../src/translate/responses/ids.ts";
import { promptCacheKey, sessionIdOf } from "../src/translate/responses/cache_key.ts";
import { ResponsesStreamTranslator } from "../src/translate/responses/stream.ts";
import { keepOwnThinking, signatureFamily } from "../src/translate/signature.ts";
import { ToolNames } from "../src/translate/tool_names.ts";
import { InvalidRequestError } from "../src/translate/validate.ts";
import type { AnthropicRequest } from "../src/translate/types.ts";
import { haikuRequest, mainRequest } from "./helpers/cc_requests.ts";
import { claudeCodeBody } from "./helpers/claude_code_request.ts";
import { checkCodexRequest, codexEvents } from "./helpers/codex_stub.ts";
import { accumulate } from "./helpers/anthropic_sse.ts";

type Obj = Record<string, unknown>;
const CODEX: ResponsesRequestOptions = { model: "gpt-5.5", target: "codex" };
const codex = (body: Obj) => anthropicToResponses(body as AnthropicRequest, CODEX);
const user = (content: unknown) => ({ role: "user", content });
const simple = (over: Obj = {}) => ({
  model: "m",
  max_tokens: 100,
  messages: [user("hi")],
  ...over,
});
/** Passes checkCodexRequest as if sent with the right headers. */
const stubAccepts = (json: unknown) =>
  checkCodexRequest(
    {
      method: "POST",
      url: "/backend-api/codex/responses",
      headers: { authorization: "Bearer t", "chatgpt-account-id": "a" },
      json: JSON.parse(JSON.stringify(json)),
    },
    "t",
    "a",
  );

describe("Codex body rules", () => {
  test("stream, store, instructions always; no output limit or sampling fields", () => {
    const { body } = codex(
      simple({ temperature: 0.2, top_p: 0.9, stop_sequences: ["X"], stream: false }),
    );
    assert.equal(body.stream, true);
    assert.equal(body.store, false);
    assert.equal(body.instructions, DEFAULT_INSTRUCTIONS);
    for (const f of ["max_output_tokens", "temperature", "top_p", "stop"]) {
      assert.ok(!(f in body), f);
    }
    assert.equal(stubAccepts(body), undefined);
  });

  test("the public API gets the output limit (clamped) and sampling fields", () => {
    const { body } = anthropicToResponses(
      simple({ max_tokens: 64000, temperature: 0.2 }) as AnthropicRequest,
      { model: "gpt-5.5", target: "public", maxOutputTokens: 32000 },
    );
    assert.equal(body.max_output_tokens, 32000);
    assert.equal(body.temperature, 0.2);
    assert.equal(body.instructions, undefined);
    assert.equal(body.store, false);
  });

  test("members in the Codex CLI's order", () => {
    const { body } = codex(mainRequest());
    assert.deepEqual(Object.keys(body), [
      "model",
      "instructions",
      "input",
      "tools",
      "tool_choice",
      "parallel_tool_calls",
      "reasoning",
      "store",
      "stream",
      "include",
      "prompt_cache_key",
    ]);
  });
});

describe("Claude Code's requests", () => {
  test("main request: system as developer message without the billing block, tools cleaned", () => {
    const { body, cacheKey } = codex(mainRequest());
    const dev = body.input[0] as { role: string; content: { text: string }[] };
    assert.equal(dev.role, "developer");
    assert.equal(dev.content.length, 2);
    assert.ok(dev.content.every((p) => !p.text.startsWith("x-anthropic-billing-header:")));
    assert.equal(body.tools?.length, 24);
    for (const t of body.tools!) {
      assert.equal(t.strict, false);
      assert.ok(!("$schema" in t.parameters));
      assert.equal(t.parameters.type, "object");
    }
    assert.deepEqual(body.reasoning, { effort: "high", summary: "auto" });
    assert.deepEqual(body.include, ["reasoning.encrypted_content"]);
    assert.equal(cacheKey, "s");
    assert.equal(body.prompt_cache_key, "s");
  });

  test("a 64 KB conversation with tool results and a trailing system message passes the stub's rules", () => {
    const cc = claudeCodeBody();
    const { body } = codex(cc);
    assert.equal(stubAccepts(body), undefined);
    assert.equal((cc.messages as Obj[]).at(-1)!.role, "system");
    assert.deepEqual(body.input.at(-1), {
      type: "message",
      role: "developer",
      content: [{ type: "input_text", text: "The user is in plan mode." }],
    });
    const outputs = body.input.filter((i) => i.type === "function_call_output");
    assert.ok(outputs.length > 0);
  });

  test("haiku: enabled thinking with budget 31999 → high; no tools → no tool_choice", () => {
    const { body } = codex(haikuRequest());
    assert.equal(body.reasoning?.effort, "high");
    assert.equal(body.tools, undefined);
    assert.equal(body.tool_choice, undefined);
    assert.equal(body.parallel_tool_calls, undefined);
  });
});

describe("content", () => {
  test("text, images (base64 and URL), PDFs and text documents", () => {
    const { body } = codex(simple({
      messages: [user([
        { type: "text", text: "look" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBO" } },
        { type: "image", source: { type: "url", url: "https://x/y.png" } },
        {
          type: "document",
          source: { type: "base64", media_type: "application/pdf", data: "JVBE" },
        },
        { type: "document", source: { type: "url", url: "https://x/d.pdf" } },
        {
          type: "document",
          title: "Notes",
          source: { type: "text", media_type: "text/plain", data: "n" },
        },
      ])],
    }));
    assert.deepEqual(body.input, [{
      type: "message",
      role: "user",
      content: [
        { type: "input_text", text: "look" },
        { type: "input_image", image_url: "data:image/png;base64,iVBO", detail: "auto" },
        { type: "input_image", image_url: "https://x/y.png", detail: "auto" },
        {
          type: "input_file",
          filename: "document.pdf",
          file_data: "data:application/pdf;base64,JVBE",
        },
        { type: "input_file", file_url: "https://x/d.pdf" },
        { type: "input_text", text: "Notes\n\nn" },
      ],
    }]);
  });

  test("tool_use ⇄ function_call; tool_result as string, blocks and error", () => {
    const { body } = codex(simple({
      messages: [
        user("go"),
        {
          role: "assistant",
          content: [
            { type: "text", text: "Reading" },
            { type: "tool_use", id: "toolu_01A", name: "Read", input: { file_path: "a" } },
            { type: "tool_use", id: "toolu_01B", name: "Read", input: { file_path: "b" } },
            { type: "tool_use", id: "toolu_01C", name: "Shot", input: {} },
          ],
        },
        user([
          {
            type: "tool_result",
            tool_use_id: "toolu_01A",
            content: "text a",
            cache_control: { type: "ephemeral" },
          },
          {
            type: "tool_result",
            tool_use_id: "toolu_01B",
            is_error: true,
            content: [{ type: "text", text: "no such file" }],
          },
          {
            type: "tool_result",
            tool_use_id: "toolu_01C",
            content: [{ type: "text", text: "shot" }, {
              type: "image",
              source: { type: "base64", media_type: "image/png", data: "AA" },
            }],
          },
          { type: "text", text: "thanks" },
        ]),
      ],
    }));
    assert.deepEqual(body.input.slice(1), [
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Reading" }] },
      { type: "function_call", call_id: "toolu_01A", name: "Read", arguments: '{"file_path":"a"}' },
      { type: "function_call", call_id: "toolu_01B", name: "Read", arguments: '{"file_path":"b"}' },
      { type: "function_call", call_id: "toolu_01C", name: "Shot", arguments: "{}" },
      { type: "function_call_output", call_id: "toolu_01A", output: "text a" },
      { type: "function_call_output", call_id: "toolu_01B", output: "Error: no such file" },
      {
        type: "function_call_output",
        call_id: "toolu_01C",
        output: [
          { type: "input_text", text: "shot" },
          { type: "input_image", image_url: "data:image/png;base64,AA", detail: "auto" },
        ],
      },
      { type: "message", role: "user", content: [{ type: "input_text", text: "thanks" }] },
    ]);
    assert.equal(stubAccepts(body), undefined);
  });

  test("call ids: the upstream's own come back unchanged; long ones are capped the same way twice", () => {
    // A call id the upstream made, through the stream translator and back.
    const t = new ResponsesStreamTranslator({ model: "m" });
    const acc = accumulate(
      t.push(new TextEncoder().encode(
        codexEvents({ calls: [{ callId: "call_Zx9", name: "Read", args: ["{}"] }] })
          .map((e) => `data: ${JSON.stringify(e)}\n\n`).join(""),
      )) + t.end(),
    );
    const id = acc.blocks[0].id!;
    assert.equal(id, "toolu_call_Zx9");
    assert.equal(callIdOf(id), "call_Zx9");
    const long = "toolu_" + "x".repeat(90);
    const capped = callIdOf(long);
    assert.equal(capped.length, 64);
    assert.equal(callIdOf(long), capped);
    assert.notEqual(callIdOf(long + "y"), capped);
    const { body } = codex(simple({
      messages: [
        user("go"),
        { role: "assistant", content: [{ type: "tool_use", id: long, name: "Read", input: {} }] },
        user([{ type: "tool_result", tool_use_id: long, content: "ok" }]),
      ],
    }));
    assert.equal((body.input[1] as Obj).call_id, capped);
    assert.equal((body.input[2] as Obj).call_id, capped);
    assert.equal(stubAccepts(body), undefined);
  });
});

describe("tools", () => {
  const LONG_A = "mcp__a_very_long_server_name_that_goes_on_and_on_and_on__search_docs";
  const LONG_B = "mcp__another_very_long_server_name_that_also_goes_on_and_on__search_docs";

  test("names over 64 characters shortened uniquely, order-independent, and mapped back", () => {
    const names = new ToolNames([LONG_A, LONG_B, "Read"]);
    const a = names.upstream(LONG_A);
    const b = names.upstream(LONG_B);
    assert.ok(a.length <= 64 && b.length <= 64);
    assert.notEqual(a, b, "both claim mcp__search_docs, so neither gets it");
    assert.equal(names.client(a), LONG_A);
    assert.equal(names.client(b), LONG_B);
    assert.equal(names.upstream("Read"), "Read");
    const reversed = new ToolNames(["Read", LONG_B, LONG_A]);
    assert.equal(reversed.upstream(LONG_A), a);
    const alone = new ToolNames([LONG_A]);
    assert.equal(alone.upstream(LONG_A), "mcp__search_docs");
  });

  test("schemas cleaned; tool_choice and parallel calls; names shortened everywhere", () => {
    const tools = [
      {
        name: LONG_A,
        input_schema: { $schema: "x", type: "object", properties: { q: { type: "string" } } },
        cache_control: { type: "ephemeral" },
      },
      { name: "NoSchema" },
      { type: "web_search_20250305", name: "web_search", max_uses: 5 },
    ];
    const { body, toolNames } = codex(simple({
      tools,
      tool_choice: { type: "tool", name: LONG_A, disable_parallel_tool_use: true },
      messages: [
        user("go"),
        {
          role: "assistant",
          content: [{ type: "tool_use", id: "toolu_1", name: LONG_A, input: { q: "x" } }],
        },
        user([{ type: "tool_result", tool_use_id: "toolu_1", content: "r" }]),
      ],
    }));
    const short = toolNames.upstream(LONG_A);
    assert.deepEqual(body.tools, [
      {
        type: "function",
        name: short,
        strict: false,
        parameters: { type: "object", properties: { q: { type: "string" } } },
      },
      {
        type: "function",
        name: "NoSchema",
        strict: false,
        parameters: { type: "object", properties: {} },
      },
    ]);
    assert.deepEqual(body.tool_choice, { type: "function", name: short });
    assert.equal(body.parallel_tool_calls, false);
    assert.equal((body.input[1] as Obj).name, short);
    const choice = (c: unknown) => codex(simple({ tools, tool_choice: c })).body.tool_choice;
    assert.equal(choice({ type: "any" }), "required");
    assert.equal(choice({ type: "none" }), "none");
    assert.equal(choice({ type: "auto" }), "auto");
    assert.equal(choice(undefined), "auto");
    assert.equal(codex(simple({ tools })).body.parallel_tool_calls, true);
  });
});

describe("reasoning and thinking", () => {
  const effort = (thinking: unknown, output_config?: unknown) =>
    codex(simple({ thinking, output_config })).body.reasoning?.effort;

  test("budget_tokens and output_config.effort → reasoning.effort", () => {
    assert.equal(effort({ type: "enabled", budget_tokens: 1024 }), "low");
    assert.equal(effort({ type: "enabled", budget_tokens: 8000 }), "medium");
    assert.equal(effort({ type: "enabled", budget_tokens: 31999 }), "high");
    assert.equal(effort({ type: "adaptive" }, { effort: "low" }), "low");
    assert.equal(effort({ type: "adaptive" }, { effort: "max" }), "xhigh");
    assert.equal(effort({ type: "adaptive" }), undefined);
    const off = codex(simple({ thinking: { type: "disabled" } })).body;
    assert.equal(off.reasoning, undefined);
    assert.equal(off.include, undefined);
    const omitted = codex(simple({ thinking: { type: "adaptive", display: "omitted" } })).body;
    assert.deepEqual(omitted.reasoning, {});
    assert.deepEqual(omitted.include, ["reasoning.encrypted_content"]);
  });

  test("signature families", () => {
    assert.equal(signatureFamily("openai:gAAAAB123"), "openai");
    assert.equal(signatureFamily("gAAAAABpQ2Vc"), "openai");
    assert.equal(signatureFamily("EqQBCkgIBxABGAIiQL+/=="), "anthropic");
    assert.equal(signatureFamily(""), "unsigned");
    assert.equal(signatureFamily(undefined), "unsigned");
    assert.equal(signatureFamily("gemini:abc"), "gemini");
  });

  test("only OpenAI-family thinking goes back, as reasoning items before what followed them", () => {
    const { body } = codex(simple({
      thinking: { type: "adaptive" },
      messages: [
        user("q1"),
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "mine", signature: "openai:gAAAAB-enc-1" },
            { type: "text", text: "a1" },
          ],
        },
        user("q2"),
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "claude's", signature: "EqQBCkgIBxAB" },
            { type: "redacted_thinking", data: "EmwKAhgB" },
            { type: "thinking", thinking: "chat", signature: "" },
            { type: "text", text: "a2" },
          ],
        },
        user("q3"),
      ],
    }));
    assert.deepEqual(body.input.map((i) => i.type === "message" ? i.role : i.type), [
      "user",
      "reasoning",
      "assistant",
      "user",
      "assistant",
      "user",
    ]);
    assert.deepEqual(body.input[1], {
      type: "reasoning",
      summary: [],
      encrypted_content: "gAAAAB-enc-1",
    });
    assert.equal(stubAccepts(body), undefined);
  });

  test("keepOwnThinking leaves each family its own blocks and does not mutate", () => {
    const messages = [
      user("q"),
      {
        role: "assistant" as const,
        content: [
          { type: "thinking", thinking: "o", signature: "openai:gAAAAB" },
          { type: "thinking", thinking: "a", signature: "EqQB" },
          { type: "redacted_thinking", data: "x" },
          { type: "text", text: "t" },
        ],
      },
    ];
    const copy = JSON.parse(JSON.stringify(messages));
    const forAnthropic = keepOwnThinking(messages as never, "anthropic");
    assert.deepEqual(
      (forAnthropic[1].content as Obj[]).map((b) => b.type),
      ["thinking", "redacted_thinking", "text"],
    );
    assert.equal((forAnthropic[1].content as Obj[])[0].signature, "EqQB");
    const forOpenAI = keepOwnThinking(messages as never, "openai");
    assert.deepEqual((forOpenAI[1].content as Obj[]).map((b) => b.signature ?? b.type), [
      "openai:gAAAAB",
      "text",
    ]);
    assert.deepEqual(messages, copy);
    const plain = [user("q")];
    assert.equal(keepOwnThinking(plain as never, "openai"), plain);
  });
});

describe("prompt_cache_key", () => {
  test("from Claude Code's session id, JSON or legacy form", () => {
    const json = {
      metadata: { user_id: JSON.stringify({ device_id: "d", session_id: "6f1c1a52-0d7e-4d8e" }) },
    };
    assert.equal(sessionIdOf(json as AnthropicRequest), "6f1c1a52-0d7e-4d8e");
    const legacy = { metadata: { user_id: "user_ab12_account_11-22_session_9a8b-7c6d" } };
    assert.equal(sessionIdOf(legacy as AnthropicRequest), "9a8b-7c6d");
    assert.equal(promptCacheKey(simple(json) as AnthropicRequest), "6f1c1a52-0d7e-4d8e");
    const odd = { metadata: { user_id: JSON.stringify({ session_id: "has spaces / slashes" }) } };
    assert.match(promptCacheKey(simple(odd) as AnthropicRequest), /^ccmux-[0-9a-f]{32}$/);
  });

  test("without one: stable across turns and billing blocks, different across conversations", () => {
    const base = mainRequest({ metadata: undefined });
    const key = promptCacheKey(base as AnthropicRequest);
    assert.match(key, /^ccmux-[0-9a-f]{32}$/);
    const later = {
      ...base,
      system: [
        { type: "text", text: "x-anthropic-billing-header: cc_version=9; cch=1" },
        ...(base.system as Obj[]).slice(1),
      ],
      messages: [...(base.messages as Obj[]), { role: "assistant", content: "ok" }, user("more")],
    };
    assert.equal(promptCacheKey(later as AnthropicRequest), key);
    const other = { ...base, messages: [user("another task")] };
    assert.notEqual(promptCacheKey(other as AnthropicRequest), key);
  });
});

describe("invalid requests name the field", () => {
  const field = (body: Obj) => {
    try {
      codex(body);
    } catch (e) {
      assert.ok(e instanceof InvalidRequestError, String(e));
      return e.field;
    }
    assert.fail("no error");
  };

  test("fields translation reads", () => {
    assert.equal(field({ model: "m" }), "messages");
    assert.equal(field(simple({ messages: ["hi"] })), "messages.0");
    assert.equal(field(simple({ messages: [{ role: "user" }] })), "messages.0.content");
    assert.equal(field(simple({ messages: [{ role: "bot", content: "x" }] })), "messages.0.role");
    assert.equal(
      field(
        simple({
          messages: [user([{ type: "text", text: "a" }, { type: "tool_result", content: "x" }])],
        }),
      ),
      "messages.0.content.1.tool_use_id",
    );
    assert.equal(
      field(
        simple({
          messages: [{ role: "assistant", content: [{ type: "tool_use", id: "t", input: {} }] }],
        }),
      ),
      "messages.0.content.0.name",
    );
    assert.equal(
      field(
        simple({ messages: [user([{ type: "image", source: { type: "file", file_id: "f" } }])] }),
      ),
      "messages.0.content.0.source.type",
    );
    assert.equal(field(simple({ tools: [{ input_schema: {} }] })), "tools.0.name");
    assert.equal(
      field(simple({ tools: [{ name: "a" }], tool_choice: { type: "tool" } })),
      "tool_choice.name",
    );
    assert.equal(field(simple({ system: 5 })), "system");
    assert.equal(
      field(simple({ thinking: { type: "enabled", budget_tokens: "lots" } })),
      "thinking.budget_tokens",
    );
  });
});
