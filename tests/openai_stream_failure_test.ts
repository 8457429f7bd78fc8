// An OpenAI-compatible stream that fails before its first content (an error chunk, an end or a
// break with nothing said) is an error status, not a 200 stream: the dispatcher fails over to the
// next mapping, and with none left the client gets the mapped status in Anthropic's shape. After
// the first content a failure still ends the stream with an Anthropic error event. Real sockets,
// the stub upstream speaking the error chunk shapes OpenAI-compatible providers send.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chatChunks, type OpenAIReply, startOpenAIStub } from "./helpers/openai_stub.ts";
import { providerChain, startCcmux } from "./helpers/ccmux_server.ts";

type Obj = Record<string, unknown>;

/** Providers p1..pN at `urls` (OpenAI-compatible), model "m" mapped to them in order. */
const chain = (urls: string[]) => providerChain(urls, { type: "openai", keyPrefix: "sk-" });

function post(url: string) {
  return fetch(url + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "m",
      max_tokens: 10,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    }),
  });
}

const ROLE: Obj = {
  id: "chatcmpl-e1",
  object: "chat.completion.chunk",
  created: 1764170000,
  model: "stub-gpt",
  choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
};

/** OpenAI's own error chunk shapes (`data: {"error": …}`), and what the client should get. */
const EARLY: { name: string; error: Obj; status: number; type: string; message: RegExp }[] = [
  {
    name: "rate limit",
    error: {
      message: "Rate limit reached",
      type: "rate_limit_exceeded",
      code: "rate_limit_exceeded",
    },
    status: 429,
    type: "rate_limit_error",
    message: /^p1: Rate limit reached$/,
  },
  {
    name: 'tokens-per-minute limit (type "tokens")',
    error: {
      message: "Rate limit reached for gpt-4o on tokens per min (TPM). Please try again in 1.5s.",
      type: "tokens",
      param: null,
      code: "rate_limit_exceeded",
    },
    status: 429,
    type: "rate_limit_error",
    message: /try again in 1\.5s/,
  },
  {
    name: "server error",
    error: {
      message: "The server had an error while processing your request. Sorry about that!",
      type: "server_error",
      param: null,
      code: null,
    },
    status: 502,
    type: "api_error",
    message: /server had an error/,
  },
  {
    name: "overloaded",
    error: { message: "That model is currently overloaded", type: "overloaded_error" },
    status: 529,
    type: "overloaded_error",
    message: /overloaded/,
  },
  {
    name: "context length",
    error: {
      message: "This model's maximum context length is 8192 tokens. However, you requested 9000.",
      type: "invalid_request_error",
      param: "messages",
      code: "context_length_exceeded",
    },
    status: 400,
    type: "invalid_request_error",
    message: /^p1: prompt is too long: This model's maximum context length/,
  },
  {
    name: "a numeric code (OpenRouter, vLLM)",
    error: { code: 503, message: "No instances available" },
    status: 503,
    type: "overloaded_error",
    message: /No instances available/,
  },
  {
    name: "unknown",
    error: { message: "something odd" },
    status: 502,
    type: "api_error",
    message: /something odd/,
  },
];

describe("an OpenAI-compatible stream that fails before its first content", () => {
  test("an error chunk first fails over: the client sees the next mapping's answer", async () => {
    const p1 = await startOpenAIStub({
      chunks: [{
        error: {
          message: "Rate limit reached",
          type: "rate_limit_exceeded",
          code: "rate_limit_exceeded",
        },
      }],
    });
    const p2 = await startOpenAIStub({ chunks: chatChunks({ text: ["From ", "p2"] }) });
    const ccmux = await startCcmux(chain([p1.baseUrl, p2.baseUrl]));
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /"text":"From "[\s\S]*"text":"p2"[\s\S]*event: message_stop/);
      assert.doesNotMatch(text, /event: error|Rate limit/);
      assert.equal(p1.requests.length, 1);
      assert.equal(p2.requests.length, 1);
      await ccmux.waitForLog(/POST \/v1\/messages 200 .*failover: p1 429 → p2 200/);
    } finally {
      await ccmux.close();
      await p1.close();
      await p2.close();
    }
  });

  test("an error chunk after a role-only chunk, an empty end and a break fail over too", async () => {
    const replies: OpenAIReply[] = [
      { chunks: [ROLE, { ...ROLE, choices: [], error: { code: 502, message: "Bad upstream" } }] },
      { chunks: [ROLE], noDone: true },
      { chunks: [ROLE], breakAfter: 1 },
    ];
    for (const reply of replies) {
      const p1 = await startOpenAIStub(reply);
      const p2 = await startOpenAIStub({ chunks: chatChunks({ text: ["ok"] }) });
      const ccmux = await startCcmux(chain([p1.baseUrl, p2.baseUrl]));
      try {
        const res = await post(ccmux.url);
        assert.equal(res.status, 200, JSON.stringify(reply));
        const text = await res.text();
        assert.match(text, /"text":"ok"[\s\S]*event: message_stop/, JSON.stringify(reply));
        assert.equal(p2.requests.length, 1);
        await ccmux.waitForLog(/failover: p1 502 → p2 200/);
      } finally {
        await ccmux.close();
        await p1.close();
        await p2.close();
      }
    }
  });

  test("with no mapping left the client gets the mapped status, Anthropic-shaped", async () => {
    const p1 = await startOpenAIStub();
    const ccmux = await startCcmux(chain([p1.baseUrl]));
    try {
      for (const c of EARLY) {
        p1.reply({ chunks: [ROLE, { error: c.error }] });
        const res = await post(ccmux.url);
        assert.equal(res.status, c.status, c.name);
        assert.match(res.headers.get("content-type") ?? "", /application\/json/, c.name);
        const body = await res.json();
        assert.equal(body.type, "error", c.name);
        assert.equal(body.error.type, c.type, c.name);
        assert.match(body.error.message, c.message, c.name);
        assert.doesNotMatch(JSON.stringify(body), /sk-key-p1/);
        if (c.name.startsWith("tokens")) assert.equal(res.headers.get("retry-after"), "2");
      }
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });
});

describe("an OpenAI-compatible stream that fails after its first content", () => {
  test("an error chunk ends the 200 stream with an error event; no failover", async () => {
    const content = chatChunks({ text: ["Partial"] }).slice(0, 2);
    const p1 = await startOpenAIStub({
      chunks: [...content, {
        error: {
          message: "Rate limit reached",
          type: "rate_limit_exceeded",
          code: "rate_limit_exceeded",
        },
      }],
    });
    const p2 = await startOpenAIStub();
    const ccmux = await startCcmux(chain([p1.baseUrl, p2.baseUrl]));
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /^event: message_start\n/);
      assert.match(text, /"text":"Partial"/);
      assert.match(
        text,
        /event: error\ndata: \{"type":"error","error":\{"type":"rate_limit_error","message":"Rate limit reached"\}\}\n\n$/,
      );
      assert.doesNotMatch(text, /message_stop/);
      assert.equal(p2.requests.length, 0);
    } finally {
      await ccmux.close();
      await p1.close();
      await p2.close();
    }
  });
});
