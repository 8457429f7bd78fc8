// Thinking blocks across upstream families: a conversation with thinking on fails over from the
// Codex backend to an Anthropic upstream and back, mid tool loop. Both stubs reject thinking
// they did not issue, as the real services do; ccmux sends each only its own family's thinking,
// so no turn gets a 400. An Anthropic-only body still goes upstream byte for byte.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import Anthropic from "@anthropic-ai/sdk";
import { codexEvents, startCodexStub } from "./helpers/codex_stub.ts";
import { startUpstreamStub, type StubEvent } from "./helpers/upstream_stub.ts";
import { startCcmux } from "./helpers/ccmux_server.ts";
import type { TokenSource } from "../src/proxy/provider.ts";
import { mayHaveForeignThinking } from "../src/proxy/foreign_thinking.ts";

type Obj = Record<string, unknown>;

/** Signatures the Anthropic stub issues (base64, like Anthropic's). */
const ANTHROPIC_SIG = "EqQBCkYIBxgCKkBanthropicStubSignature0001==";
const OPENAI_ENC_1 = "gAAAABcodex-reasoning-turn-1";
const OPENAI_ENC_3 = "gAAAABcodex-reasoning-turn-3";

const READ_TOOL = {
  name: "Read",
  description: "Read a file",
  input_schema: {
    type: "object" as const,
    properties: { file_path: { type: "string" } },
    required: ["file_path"],
  },
};

/** An Anthropic stream: a signed thinking block, then a tool call or text. */
function anthropicEvents(
  opts: { thinking: string; tool?: { id: string; path: string }; text?: string },
) {
  const ev = (event: string, data: Obj): StubEvent => ({ event, data: { type: event, ...data } });
  const out: StubEvent[] = [
    ev("message_start", {
      message: {
        id: "msg_anth1",
        type: "message",
        role: "assistant",
        model: "claude-sonnet-5",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 1 },
      },
    }),
    ev("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "" } }),
    ev("content_block_delta", {
      index: 0,
      delta: { type: "thinking_delta", thinking: opts.thinking },
    }),
    ev("content_block_delta", {
      index: 0,
      delta: { type: "signature_delta", signature: ANTHROPIC_SIG },
    }),
    ev("content_block_stop", { index: 0 }),
  ];
  if (opts.tool) {
    out.push(
      ev("content_block_start", {
        index: 1,
        content_block: { type: "tool_use", id: opts.tool.id, name: "Read", input: {} },
      }),
      ev("content_block_delta", {
        index: 1,
        delta: {
          type: "input_json_delta",
          partial_json: JSON.stringify({ file_path: opts.tool.path }),
        },
      }),
      ev("content_block_stop", { index: 1 }),
    );
  } else {
    out.push(
      ev("content_block_start", { index: 1, content_block: { type: "text", text: "" } }),
      ev("content_block_delta", { index: 1, delta: { type: "text_delta", text: opts.text ?? "" } }),
      ev("content_block_stop", { index: 1 }),
    );
  }
  out.push(
    ev("message_delta", {
      delta: { stop_reason: opts.tool ? "tool_use" : "end_turn", stop_sequence: null },
      usage: { output_tokens: 12 },
    }),
    ev("message_stop", {}),
  );
  return out;
}

const CONFIG = (codexUrl: string, anthropicUrl: string) => `
[router]
default = "main"

[[providers]]
name = "chatgpt"
provider_type = "codex"
oauth_provider = "chatgpt"
base_url = "${codexUrl}"

[[providers]]
name = "claude"
provider_type = "anthropic"
auth_type = "apikey"
api_key = "sk-ant-test-key-123456"
base_url = "${anthropicUrl}"

[[models]]
name = "main"
[[models.mappings]]
provider = "chatgpt"
actual_model = "gpt-5.5"
priority = 1
[[models.mappings]]
provider = "claude"
actual_model = "claude-sonnet-5"
priority = 2
`;

/** Every thinking signature in a request body's messages. */
function signatures(json: Obj | undefined): string[] {
  const out: string[] = [];
  for (const m of (json?.messages ?? []) as Obj[]) {
    if (!Array.isArray(m.content)) continue;
    for (const b of m.content as Obj[]) if (b.type === "thinking") out.push(String(b.signature));
  }
  return out;
}

describe("thinking across upstream families", () => {
  test("codex → anthropic → codex → anthropic mid-conversation: no 400, own thinking only", async () => {
    const codex = await startCodexStub((_req, i) => {
      switch (i) {
        case 0:
          return {
            events: codexEvents({
              reasoning: { summary: ["Read a.ts first."], encrypted: OPENAI_ENC_1 },
              calls: [{ callId: "call_a", name: "Read", args: ['{"file_path":"a.ts"}'] }],
            }),
          };
        case 1:
        case 3:
          return {
            status: 503,
            json: { error: { message: "overloaded", code: "server_is_overloaded" } },
          };
        default:
          return {
            events: codexEvents({
              reasoning: { summary: ["Both read."], encrypted: OPENAI_ENC_3 },
              text: ["Done reading."],
            }),
          };
      }
    });
    const anthropic = await startUpstreamStub(
      (_req, i) => ({
        events: i === 0
          ? anthropicEvents({ thinking: "Now b.ts.", tool: { id: "toolu_b", path: "b.ts" } })
          : anthropicEvents({ thinking: "Summarise.", text: "a.ts and b.ts export x." }),
      }),
      { thinking: { isOwn: (s) => s === ANTHROPIC_SIG } },
    );
    const tokens: TokenSource = {
      accessToken: () =>
        Promise.resolve({
          provider_id: "chatgpt",
          access_token: codex.token,
          account_id: codex.accountId,
        }),
      refreshAfterReject: () => Promise.reject(new Error("no refresh expected")),
    };
    const ccmux = await startCcmux(CONFIG(codex.baseUrl, anthropic.url), { tokens });
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: "client-key", maxRetries: 0 });
      const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Read a.ts and b.ts." }];
      const turn = async () => {
        const msg = await client.messages.stream({
          model: "claude-sonnet-5",
          max_tokens: 8000,
          thinking: { type: "enabled", budget_tokens: 2000 },
          tools: [READ_TOOL],
          messages,
        }).finalMessage();
        messages.push({ role: "assistant", content: msg.content });
        return msg;
      };
      const toolResult = (msg: Anthropic.Message, text: string) => {
        const use = msg.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
        messages.push({
          role: "user",
          content: [{ type: "tool_result", tool_use_id: use.id, content: text }],
        });
      };

      // 1: codex thinks (openai-signed) and calls Read.
      const m1 = await turn();
      assert.equal((m1.content[0] as Anthropic.ThinkingBlock).signature, `openai:${OPENAI_ENC_1}`);
      toolResult(m1, "export const a = 1;");

      // 2: codex is overloaded → anthropic, which must not see the openai thinking.
      const m2 = await turn();
      assert.equal((m2.content[0] as Anthropic.ThinkingBlock).signature, ANTHROPIC_SIG);
      assert.equal(anthropic.requests.length, 1);
      const a1 = anthropic.requests[0].json!;
      assert.deepEqual(signatures(a1), []);
      assert.equal(a1.model, "claude-sonnet-5");
      // Its last assistant turn lost its thinking, mid tool loop: thinking off for this request.
      assert.equal(a1.thinking, undefined);
      toolResult(m2, "export const b = 2;");

      // 3: back on codex, which gets its own reasoning back and no Anthropic signature.
      const m3 = await turn();
      assert.equal(m3.stop_reason, "end_turn");
      const c2 = codex.requests[2].json;
      const reasoning = (c2.input as Obj[]).filter((i) => i.type === "reasoning");
      assert.deepEqual(reasoning.map((r) => r.encrypted_content), [OPENAI_ENC_1]);
      assert.equal(JSON.stringify(c2).includes(ANTHROPIC_SIG), false);

      // 4: codex fails again → anthropic gets its own thinking back, still no openai one.
      messages.push({ role: "user", content: "Summarise." });
      const m4 = await turn();
      assert.equal(m4.stop_reason, "end_turn");
      const a2 = anthropic.requests[1].json!;
      assert.deepEqual(signatures(a2), [ANTHROPIC_SIG]);
      assert.deepEqual(a2.thinking, { type: "enabled", budget_tokens: 2000 });
      assert.equal(JSON.stringify(a2).includes("openai:"), false);

      assert.equal(codex.requests.length, 4);
      assert.equal(anthropic.requests.length, 2);
    } finally {
      await ccmux.close();
      await codex.close();
      await anthropic.close();
    }
  });

  test("a body with only Anthropic thinking goes upstream byte for byte", async () => {
    const anthropic = await startUpstreamStub(undefined, {
      thinking: { isOwn: (s) => s === ANTHROPIC_SIG },
    });
    const ccmux = await startCcmux(`
[[providers]]
name = "claude"
provider_type = "anthropic"
auth_type = "apikey"
api_key = "sk-ant-test-key-123456"
base_url = "${anthropic.url}"
`);
    try {
      // Odd spacing on purpose: a re-serialised body would differ.
      const body = `{"model":"claude-sonnet-5", "max_tokens":100,"thinking":{"type":"enabled",` +
        `"budget_tokens":1024},"messages":[{"role":"user","content":"hi"},{"role":"assistant",` +
        `"content":[{"type":"thinking","thinking":"x","signature":"${ANTHROPIC_SIG}"},` +
        `{"type":"text","text":"gAAAAB? no: plain text"}]},{"role":"user","content":"more"}]}`;
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      assert.equal(res.status, 200);
      await res.text();
      assert.ok(Buffer.from(anthropic.requests[0].body).equals(Buffer.from(body)));
    } finally {
      await ccmux.close();
      await anthropic.close();
    }
  });
});

test("the foreign-signature search: a marker must open a JSON string", () => {
  const has = (text: string) => mayHaveForeignThinking(new TextEncoder().encode(text));
  assert.equal(has('{"signature":"openai:gAAAAB-x"}'), true);
  assert.equal(has('{"signature":"gAAAAB-bare-fernet"}'), true);
  // The same letters inside a string (image data, prose) are no marker.
  assert.equal(has('{"data":"iVBORgAAAAopenai:x","text":"see openai: docs"}'), false);
  assert.equal(has('{"text":"xopenai:y"} openai:'), false);
  assert.equal(has(""), false);
  // A marker after a false hit is still found.
  assert.equal(has('{"a":"xgAAAA","b":"gAAAA1"}'), true);
});
