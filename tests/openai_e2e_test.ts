// End to end through ccmux to a stub OpenAI-compatible upstream: the official Anthropic SDK
// (streaming and not) with tool use over two turns, a Claude-Code-shaped request, local
// count_tokens, upstream errors (status kept, key never echoed), the reasoning_effort and
// max_tokens corrections, and a stream that breaks off.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { chatChunks, chatJson, startOpenAIStub } from "./helpers/openai_stub.ts";
import { startCcmux } from "./helpers/ccmux_server.ts";
import { claudeCodeRequest } from "./helpers/claude_code_request.ts";
import type { TokenSource } from "../src/proxy/provider.ts";
import type { TokenRecord } from "../src/auth/types.ts";

const OAI_KEY = "sk-oai-provider-key-0123456789";

function config(baseUrl: string, extra = ""): string {
  return `
[router]
default = "oai/gpt-stub"

[[providers]]
name = "oai"
provider_type = "openai"
auth_type = "apikey"
api_key = "${OAI_KEY}"
base_url = "${baseUrl}"
${extra}
`;
}

const WEATHER_TOOL = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object" as const,
    properties: { city: { type: "string" }, days: { type: "integer" } },
    required: ["city"],
  },
};

type Obj = Record<string, unknown>;

describe("Anthropic SDK through ccmux to an OpenAI upstream", () => {
  test("streaming tool use over two turns round-trips", async () => {
    const stub = await startOpenAIStub((_req, i) =>
      i === 0
        ? {
          chunks: chatChunks({
            text: ["Checking ", "the weather ☀"],
            tools: [{
              id: "call_w1",
              name: "get_weather",
              args: ['{"ci', 'ty": "Par', 'is", "days": 2}'],
            }],
            usage: {
              prompt_tokens: 120,
              completion_tokens: 30,
              prompt_tokens_details: { cached_tokens: 100 },
            },
          }),
        }
        : { chunks: chatChunks({ text: ["It is sunny in Paris."] }) }
    );
    const ccmux = await startCcmux(config(stub.baseUrl));
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: "client-key", maxRetries: 0 });
      const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
      const first = await client.messages.stream({
        model: "claude-sonnet-5",
        max_tokens: 1000,
        system: [{ type: "text", text: "Be terse.", cache_control: { type: "ephemeral" } }],
        tools: [WEATHER_TOOL],
        messages,
      }).finalMessage();

      assert.equal(first.stop_reason, "tool_use");
      assert.match(first.id, /^msg_/);
      assert.deepEqual(first.content[0], { type: "text", text: "Checking the weather ☀" });
      const use = first.content[1] as Anthropic.ToolUseBlock;
      assert.equal(use.type, "tool_use");
      assert.equal(use.id, "toolu_call_w1");
      assert.equal(use.name, "get_weather");
      assert.deepEqual(use.input, { city: "Paris", days: 2 });
      assert.equal(first.usage.input_tokens, 20);
      assert.equal(first.usage.cache_read_input_tokens, 100);
      assert.equal(first.usage.output_tokens, 30);

      const up1 = stub.requests[0];
      assert.equal(up1.method, "POST");
      assert.equal(up1.url, "/v1/chat/completions");
      assert.equal(up1.headers["authorization"], `Bearer ${OAI_KEY}`);
      assert.equal(up1.headers["x-api-key"], undefined);
      assert.equal(up1.json.model, "gpt-stub");
      assert.equal(up1.json.stream, true);
      assert.deepEqual(up1.json.stream_options, { include_usage: true });
      assert.deepEqual(up1.json.messages, [
        { role: "system", content: "Be terse." },
        { role: "user", content: "Weather in Paris?" },
      ]);
      const { $schema: _, ...params } = WEATHER_TOOL.input_schema;
      assert.deepEqual(up1.json.tools, [{
        type: "function",
        function: { name: "get_weather", description: "Weather for a city", parameters: params },
      }]);

      // Turn 2: the tool result goes back.
      messages.push({ role: "assistant", content: first.content });
      messages.push({
        role: "user",
        content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny, 24°C" }],
      });
      const second = await client.messages.stream({
        model: "claude-sonnet-5",
        max_tokens: 1000,
        tools: [WEATHER_TOOL],
        messages,
      }).finalMessage();
      assert.equal(second.stop_reason, "end_turn");
      assert.deepEqual(second.content, [{ type: "text", text: "It is sunny in Paris." }]);

      const sent = stub.requests[1].json.messages as Obj[];
      assert.deepEqual(sent.slice(1), [
        {
          role: "assistant",
          content: "Checking the weather ☀",
          tool_calls: [{
            id: "toolu_call_w1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris","days":2}' },
          }],
        },
        { role: "tool", tool_call_id: "toolu_call_w1", content: "sunny, 24°C" },
      ]);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("non-streaming tool use; count_tokens answered locally", async () => {
    const stub = await startOpenAIStub({
      json: chatJson({ tools: [{ id: "call_j", name: "get_weather", args: '{"city":"Oslo"}' }] }),
    });
    const ccmux = await startCcmux(config(stub.baseUrl));
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: "client-key", maxRetries: 0 });
      const msg = await client.messages.create({
        model: "claude-sonnet-5",
        max_tokens: 100,
        tools: [WEATHER_TOOL],
        tool_choice: { type: "any" },
        messages: [{ role: "user", content: "Oslo?" }],
      });
      assert.equal(msg.stop_reason, "tool_use");
      assert.deepEqual(msg.content, [
        { type: "tool_use", id: "toolu_call_j", name: "get_weather", input: { city: "Oslo" } },
      ]);
      assert.equal(stub.requests[0].json.tool_choice, "required");
      assert.equal(stub.requests[0].json.stream, undefined);

      const count = await client.messages.countTokens({
        model: "claude-sonnet-5",
        messages: [{ role: "user", content: "x".repeat(400) }],
      });
      assert.ok(count.input_tokens >= 100 && count.input_tokens < 120, `${count.input_tokens}`);
      assert.equal(stub.requests.length, 1, "count_tokens never reaches the provider");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("ccmux with an OpenAI upstream", () => {
  test("a Claude Code request is translated whole and its stream comes back", async () => {
    const stub = await startOpenAIStub();
    const ccmux = await startCcmux(config(stub.baseUrl, "max_output_tokens = 16384"));
    try {
      const cc = claudeCodeRequest({ auth: { apiKey: "client-key" } });
      const res = await fetch(ccmux.url + cc.path, {
        method: "POST",
        headers: cc.headers,
        body: cc.body,
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
      const text = await res.text();
      assert.match(text, /^event: message_start\n/);
      assert.match(text, /"text_delta","text":"Hel"/);
      assert.match(text, /event: message_stop\n/);

      const sent = stub.requests[0].json;
      // The openai preset sends max_completion_tokens; clamped by max_output_tokens.
      assert.equal(sent.max_completion_tokens, 16384);
      assert.equal(sent.max_tokens, undefined);
      const msgs = sent.messages as Obj[];
      assert.equal(msgs[0].role, "system");
      assert.match(String(msgs[0].content), /The user is in plan mode\.$/);
      assert.equal(msgs.filter((m) => m.role === "system").length, 1);
      const inTools = cc.json.messages as Obj[];
      const toolUses = inTools.flatMap((m) =>
        Array.isArray(m.content) ? (m.content as Obj[]).filter((b) => b.type === "tool_use") : []
      );
      assert.equal(msgs.filter((m) => m.role === "tool").length, toolUses.length);
      assert.ok(msgs.some((m) => m.role === "tool" && String(m.content).startsWith("Error: ")));
      for (const t of sent.tools as { function: { parameters: Obj } }[]) {
        assert.equal("$schema" in t.function.parameters, false);
      }
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("an upstream 429 keeps its status and retry-after; the key is never echoed", async () => {
    const stub = await startOpenAIStub({
      status: 429,
      headers: { "retry-after": "30" },
      json: { error: { message: `Rate limit for key ${OAI_KEY}`, type: "rate_limit_exceeded" } },
    });
    const ccmux = await startCcmux(config(stub.baseUrl));
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "claude-x",
          max_tokens: 5,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "30");
      const body = await res.json();
      assert.equal(body.type, "error");
      assert.equal(body.error.type, "rate_limit_error");
      assert.match(body.error.message, /Rate limit for key/);
      assert.doesNotMatch(JSON.stringify(body), /0123456789/);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("a model that rejects reasoning_effort or the max_tokens asked for is retried corrected", async () => {
    const stub = await startOpenAIStub((req) => {
      if (req.json.reasoning_effort !== undefined) {
        return {
          status: 400,
          json: { error: { message: "reasoning_effort is not supported with this model" } },
        };
      }
      if ((req.json.max_completion_tokens as number) > 8192) {
        return {
          status: 400,
          json: {
            error: { message: "max_completion_tokens must be less than or equal to `8192`" },
          },
        };
      }
      // JSON although a stream was asked for: ccmux still answers with a stream.
      return { json: chatJson({ text: "ok" }) };
    });
    const ccmux = await startCcmux(config(stub.baseUrl));
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: "client-key", maxRetries: 0 });
      const msg = await client.messages.stream({
        model: "claude-haiku-4-5-20251001",
        max_tokens: 32000,
        thinking: { type: "enabled", budget_tokens: 31999 },
        messages: [{ role: "user", content: "hi" }],
      }).finalMessage();
      assert.deepEqual(msg.content, [{ type: "text", text: "ok" }]);
      assert.equal(stub.requests.length, 3);
      assert.equal(stub.requests[0].json.reasoning_effort, "high");
      assert.equal(stub.requests[1].json.reasoning_effort, undefined);
      assert.equal(stub.requests[2].json.max_completion_tokens, 8192);
      // Learned: the next request for this model is sent corrected at once.
      await client.messages.stream({
        model: "claude-haiku-4-5-20251001",
        max_tokens: 32000,
        thinking: { type: "enabled", budget_tokens: 31999 },
        messages: [{ role: "user", content: "again" }],
      }).finalMessage();
      assert.equal(stub.requests.length, 4);
      assert.equal(stub.requests[3].json.reasoning_effort, undefined);
      assert.equal(stub.requests[3].json.max_completion_tokens, 8192);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("a stream that breaks off ends with an Anthropic error event", async () => {
    const stub = await startOpenAIStub({
      chunks: chatChunks({ text: ["a", "b", "c"] }),
      breakAfter: 2,
    });
    const ccmux = await startCcmux(config(stub.baseUrl));
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "claude-x",
          max_tokens: 5,
          stream: true,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /"text":"a"/);
      assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
      assert.doesNotMatch(text, /message_stop/);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("credentials for OpenAI upstreams", () => {
  test("passthrough sends the client's key as a bearer token", async () => {
    const stub = await startOpenAIStub();
    const ccmux = await startCcmux(
      config(stub.baseUrl).replace('auth_type = "apikey"', 'auth_type = "passthrough"')
        .replace(`api_key = "${OAI_KEY}"`, ""),
    );
    try {
      const client = new Anthropic({
        baseURL: ccmux.url,
        apiKey: "sk-client-own-key",
        maxRetries: 0,
      });
      await client.messages.create({
        model: "claude-x",
        max_tokens: 5,
        messages: [{ role: "user", content: "hi" }],
      });
      assert.equal(stub.requests[0].headers["authorization"], "Bearer sk-client-own-key");
      assert.equal(stub.requests[0].headers["x-api-key"], undefined);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("oauth: a rejected token is refreshed once and the request retried", async () => {
    const stub = await startOpenAIStub((req) =>
      req.headers["authorization"] === "Bearer fresh-token"
        ? { json: chatJson({ text: "ok" }) }
        : { status: 401, json: { error: { message: "token expired" } } }
    );
    const calls: string[] = [];
    const rec = (access_token: string): TokenRecord => ({ provider_id: "acct", access_token });
    const tokens: TokenSource = {
      accessToken(id) {
        calls.push(`access ${id}`);
        return Promise.resolve(rec("stale-token"));
      },
      refreshAfterReject(id, rejected) {
        calls.push(`refresh ${id} ${rejected}`);
        return Promise.resolve(rec("fresh-token"));
      },
    };
    const ccmux = await startCcmux(
      config(stub.baseUrl).replace(
        'auth_type = "apikey"',
        'auth_type = "oauth"\noauth_provider = "acct"',
      )
        .replace(`api_key = "${OAI_KEY}"`, ""),
      { tokens },
    );
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: "client-key", maxRetries: 0 });
      const msg = await client.messages.create({
        model: "claude-x",
        max_tokens: 5,
        messages: [{ role: "user", content: "hi" }],
      });
      assert.deepEqual(msg.content, [{ type: "text", text: "ok" }]);
      assert.deepEqual(calls, ["access acct", "refresh acct stale-token"]);
      assert.deepEqual(stub.requests.map((r) => r.headers["authorization"]), [
        "Bearer stale-token",
        "Bearer fresh-token",
      ]);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});
