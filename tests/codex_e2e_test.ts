// End to end through ccmux to a stub Codex backend (and the public Responses API): the official
// Anthropic SDK streaming and not, with a tool round trip and reasoning carried back as a
// signature; a Claude-Code-shaped request; ccmux's identity headers; the usage-limit 429
// failing over at once and skipping the provider until its reset; 401 → one refresh → retry;
// a missing account id; a retired model's 400; the public API with an API key.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import {
  codexEvents,
  type CodexStub,
  startCodexStub,
  usageLimitReply,
} from "./helpers/codex_stub.ts";
import { startCcmux, testConfig } from "./helpers/ccmux_server.ts";
import { claudeCodeRequest } from "./helpers/claude_code_request.ts";
import { mainRequest } from "./helpers/cc_requests.ts";
import { startUpstreamStub } from "./helpers/upstream_stub.ts";
import { startOAuthStub } from "./helpers/oauth_stub.ts";
import { tempHome } from "./helpers/cli.ts";
import { record } from "./helpers/token_files.ts";
import { TokenManager } from "../src/auth/refresh.ts";
import type { TokenSource } from "../src/proxy/provider.ts";
import type { TokenRecord } from "../src/auth/types.ts";
import { VERSION } from "../src/version.ts";

type Obj = Record<string, unknown>;

/** A TokenSource handing out one fixed ChatGPT record. */
function fixedTokens(rec: Partial<TokenRecord> & { access_token: string }): TokenSource {
  const full: TokenRecord = { provider_id: "chatgpt", kind: "openai", ...rec };
  return {
    accessToken: () => Promise.resolve(full),
    refreshAfterReject: () => Promise.resolve(full),
  };
}

function codexTokens(stub: CodexStub): TokenSource {
  return fixedTokens({ access_token: stub.token, account_id: stub.accountId });
}

function codexConfig(baseUrl: string, extra = ""): string {
  return `
[router]
default = "gpt"

[[providers]]
name = "chatgpt"
provider_type = "codex"
auth_type = "oauth"
oauth_provider = "chatgpt"
base_url = "${baseUrl}"
${extra}

[[models]]
name = "gpt"
[[models.mappings]]
provider = "chatgpt"
actual_model = "gpt-5.5"
`;
}

/** An unsigned JWT with the ChatGPT auth claim (as the token file may hold it). */
function jwtWithAccount(accountId: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${b64({ alg: "RS256" })}.${
    b64({ "https://api.openai.com/auth": { chatgpt_account_id: accountId } })
  }.c2ln`;
}

const READ_TOOL = {
  name: "Read",
  description: "Read a file",
  input_schema: {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object" as const,
    properties: { file_path: { type: "string" } },
    required: ["file_path"],
  },
};

const ENCRYPTED = "gAAAABstub-encrypted-reasoning-1";

describe("Anthropic SDK through ccmux to the Codex backend", () => {
  test("streaming: reasoning, text and a tool call, then the tool result round trip", async () => {
    const stub = await startCodexStub((_req, i) =>
      i === 0
        ? {
          events: codexEvents({
            reasoning: { summary: ["Need the file."], encrypted: ENCRYPTED },
            text: ["Reading ", "it ☀"],
            calls: [{ callId: "call_r1", name: "Read", args: ['{"file_', 'path":"a.ts"}'] }],
          }),
        }
        : { events: codexEvents({ text: ["It exports x."] }) }
    );
    const ccmux = await startCcmux(codexConfig(stub.baseUrl), { tokens: codexTokens(stub) });
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: "client-key", maxRetries: 0 });
      const messages: Anthropic.MessageParam[] = [{ role: "user", content: "What is in a.ts?" }];
      const first = await client.messages.stream({
        model: "claude-sonnet-5",
        max_tokens: 32000,
        system: "Be terse.",
        thinking: { type: "enabled", budget_tokens: 4000 },
        tools: [READ_TOOL],
        messages,
        metadata: { user_id: JSON.stringify({ device_id: "d", session_id: "sess-42" }) },
      }).finalMessage();

      assert.equal(first.stop_reason, "tool_use");
      assert.match(first.id, /^msg_/);
      assert.equal(first.model, "gpt-5.5");
      const [thinking, text, use] = first.content as [
        Anthropic.ThinkingBlock,
        Anthropic.TextBlock,
        Anthropic.ToolUseBlock,
      ];
      assert.equal(thinking.type, "thinking");
      assert.equal(thinking.thinking, "Need the file.");
      assert.equal(thinking.signature, `openai:${ENCRYPTED}`);
      assert.deepEqual(text, { type: "text", text: "Reading it ☀" });
      assert.equal(use.type, "tool_use");
      assert.match(use.id, /^toolu_/);
      assert.equal(use.name, "Read");
      assert.deepEqual(use.input, { file_path: "a.ts" });
      assert.equal(first.usage.input_tokens, 176);
      assert.equal(first.usage.cache_read_input_tokens, 1024);
      assert.equal(first.usage.output_tokens, 85);

      const up = stub.requests[0];
      assert.equal(up.url, "/backend-api/codex/responses");
      assert.equal(up.headers["authorization"], `Bearer ${stub.token}`);
      assert.equal(up.headers["chatgpt-account-id"], stub.accountId);
      assert.equal(up.headers["user-agent"], `ccmux/${VERSION}`);
      assert.equal(up.headers["originator"], "ccmux");
      assert.equal(up.headers["accept"], "text/event-stream");
      assert.equal(up.headers["session-id"], "sess-42");
      assert.equal(up.headers["x-api-key"], undefined);
      assert.equal(up.json.prompt_cache_key, "sess-42");
      assert.equal(up.json.model, "gpt-5.5");
      assert.deepEqual(up.json.reasoning, { effort: "medium", summary: "auto" });
      assert.deepEqual(up.json.include, ["reasoning.encrypted_content"]);
      assert.deepEqual((up.json.input as Obj[])[0], {
        type: "message",
        role: "developer",
        content: [{ type: "input_text", text: "Be terse." }],
      });
      const tool = (up.json.tools as Obj[])[0];
      assert.equal(tool.name, "Read");
      assert.equal("$schema" in (tool.parameters as Obj), false);

      messages.push({ role: "assistant", content: first.content });
      messages.push({
        role: "user",
        content: [{ type: "tool_result", tool_use_id: use.id, content: "export const x = 1;" }],
      });
      const second = await client.messages.stream({
        model: "claude-sonnet-5",
        max_tokens: 32000,
        thinking: { type: "enabled", budget_tokens: 4000 },
        tools: [READ_TOOL],
        messages,
      }).finalMessage();
      assert.equal(second.stop_reason, "end_turn");
      assert.deepEqual(second.content, [{ type: "text", text: "It exports x." }]);

      // The stub checked that the reasoning is its own and the output answers the call.
      const input = stub.requests[1].json.input as Obj[];
      const kinds = input.map((i) => i.type);
      assert.deepEqual(kinds, [
        "message",
        "reasoning",
        "message",
        "function_call",
        "function_call_output",
      ]);
      assert.equal(input[1].encrypted_content, ENCRYPTED);
      assert.equal(input[3].call_id, input[4].call_id);
      assert.equal(input[4].output, "export const x = 1;");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("non-streaming: the stream is collected into one message; count_tokens is local", async () => {
    const stub = await startCodexStub({
      events: codexEvents({
        calls: [{ callId: "call_j", name: "Read", args: ['{"file_path":"b.ts"}'] }],
      }),
    });
    const ccmux = await startCcmux(codexConfig(stub.baseUrl), { tokens: codexTokens(stub) });
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: "client-key", maxRetries: 0 });
      const msg = await client.messages.create({
        model: "claude-sonnet-5",
        max_tokens: 100,
        // Not in this SDK's types, but clients send it.
        ...({ temperature: 0.2 } as Obj),
        tools: [READ_TOOL],
        tool_choice: { type: "any" },
        messages: [{ role: "user", content: "Read b.ts" }],
      });
      assert.equal(msg.type, "message");
      assert.equal(msg.stop_reason, "tool_use");
      assert.equal(msg.content.length, 1);
      const use = msg.content[0] as Anthropic.ToolUseBlock;
      assert.equal(use.name, "Read");
      assert.deepEqual(use.input, { file_path: "b.ts" });
      // The backend only streams and refuses the output limit and sampling fields.
      const sent = stub.requests[0].json;
      assert.equal(sent.stream, true);
      assert.equal(sent.store, false);
      assert.equal("max_output_tokens" in sent, false);
      assert.equal("temperature" in sent, false);
      assert.equal(sent.tool_choice, "required");

      const count = await client.messages.countTokens({
        model: "claude-sonnet-5",
        messages: [{ role: "user", content: "x".repeat(400) }],
      });
      assert.ok(count.input_tokens >= 100 && count.input_tokens < 120, `${count.input_tokens}`);
      assert.equal(stub.requests.length, 1, "count_tokens never reaches the backend");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("non-streaming answers leave the upstream connection reusable", async () => {
    // The collector has its message at response.completed; the body's end comes after it, and
    // cutting the body there would cost a new connection (a TLS handshake) per request.
    const stub = await startCodexStub();
    const ccmux = await startCcmux(codexConfig(stub.baseUrl), { tokens: codexTokens(stub) });
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: "client-key", maxRetries: 0 });
      for (let i = 0; i < 3; i++) {
        const msg = await client.messages.create({
          model: "claude-sonnet-5",
          max_tokens: 100,
          messages: [{ role: "user", content: `hi ${i}` }],
        });
        assert.equal(msg.content[0].type, "text");
      }
      assert.equal(stub.requests.length, 3);
      assert.equal(stub.connections, 1, "one keep-alive connection for three answers");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("a Claude Code request passes through and its stream comes back", async () => {
    const stub = await startCodexStub();
    const ccmux = await startCcmux(codexConfig(stub.baseUrl), { tokens: codexTokens(stub) });
    try {
      const cc = claudeCodeRequest({ auth: { authToken: "client-token" }, body: mainRequest() });
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
      const sent = stub.requests[0];
      assert.equal(sent.headers["authorization"], `Bearer ${stub.token}`);
      assert.equal(sent.json.prompt_cache_key, "s");
      assert.deepEqual(sent.json.reasoning, { effort: "high", summary: "auto" });
      const developer = (sent.json.input as Obj[])[0];
      assert.equal(developer.role, "developer");
      assert.doesNotMatch(JSON.stringify(developer), /x-anthropic-billing-header/);
      assert.equal(JSON.stringify(sent.json).includes("client-token"), false);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("a retired model's 400 reaches the client as it is, without failover", async () => {
    const stub = await startCodexStub({
      status: 400,
      json: {
        detail:
          "The 'gpt-5.3-codex' model is not supported when using Codex with a ChatGPT account.",
      },
    });
    const anthropic = await startUpstreamStub();
    const ccmux = await startCcmux(failoverConfig(stub.baseUrl, anthropic.url), {
      tokens: codexTokens(stub),
    });
    try {
      const res = await post(ccmux.url, { stream: true });
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.error.type, "invalid_request_error");
      assert.match(body.error.message, /^chatgpt: The 'gpt-5\.3-codex' model is not supported/);
      assert.equal(anthropic.requests.length, 0);
    } finally {
      await ccmux.close();
      await stub.close();
      await anthropic.close();
    }
  });

  test("a stream that breaks off after the first text ends with an error event", async () => {
    const stub = await startCodexStub({
      events: codexEvents({ text: ["partial ", "answer"] }),
      breakAfter: 6,
    });
    const ccmux = await startCcmux(codexConfig(stub.baseUrl), { tokens: codexTokens(stub) });
    try {
      const res = await post(ccmux.url, { stream: true });
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /"text":"partial "/);
      assert.match(text, /event: error\n/);
      assert.doesNotMatch(text, /event: message_stop/);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

function failoverConfig(codexUrl: string, anthropicUrl: string): string {
  return `
[router]
default = "gpt"

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
name = "gpt"
[[models.mappings]]
provider = "chatgpt"
actual_model = "gpt-5.5"
priority = 1
[[models.mappings]]
provider = "claude"
actual_model = "claude-sonnet-5"
priority = 2
`;
}

function post(url: string, over: Obj = {}, headers: Record<string, string> = {}) {
  return fetch(url + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({
      model: "claude-sonnet-5",
      max_tokens: 50,
      messages: [{ role: "user", content: "hi" }],
      ...over,
    }),
  });
}

describe("Codex usage limit", () => {
  test("a 429 usage_limit_reached fails over at once; the next request skips the provider", async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 3 * 3600;
    const stub = await startCodexStub(usageLimitReply(resetsAt));
    const anthropic = await startUpstreamStub();
    const ccmux = await startCcmux(failoverConfig(stub.baseUrl, anthropic.url), {
      tokens: codexTokens(stub),
    });
    try {
      const t0 = performance.now();
      const first = await post(ccmux.url, { stream: true });
      assert.equal(first.status, 200);
      assert.match(await first.text(), /event: message_stop/);
      assert.ok(performance.now() - t0 < 1500, "no wait before the next mapping");
      assert.equal(stub.requests.length, 1);
      assert.equal(anthropic.requests.length, 1);
      const line = await ccmux.waitForLog(/usage limit/);
      assert.match(line, /chatgpt 429 usage limit \(primary \(300 min\) window\) until 20\d\d-/);

      const second = await post(ccmux.url, { stream: true });
      assert.equal(second.status, 200);
      await second.text();
      assert.equal(stub.requests.length, 1, "the exhausted provider is skipped");
      assert.equal(anthropic.requests.length, 2);
      const skipped = await ccmux.waitForLog(/skipped \(usage limit/);
      // The skip names the window and its reset.
      assert.match(
        skipped,
        /chatgpt skipped \(usage limit \(primary \(300 min\) window\) until 20\d\d-\d\d-\d\dT/,
      );
    } finally {
      await ccmux.close();
      await stub.close();
      await anthropic.close();
    }
  });

  test("with nothing left the client gets 429, retry-after and the reset time", async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600;
    const stub = await startCodexStub(usageLimitReply(resetsAt));
    const ccmux = await startCcmux(codexConfig(stub.baseUrl), { tokens: codexTokens(stub) });
    try {
      const iso = new Date(resetsAt * 1000).toISOString().replace(".000Z", "Z");
      for (let i = 0; i < 2; i++) {
        const res = await post(ccmux.url, { stream: true });
        assert.equal(res.status, 429);
        const after = Number(res.headers.get("retry-after"));
        assert.ok(after > 7000 && after <= 7200, `retry-after ${after}`);
        const body = await res.json();
        assert.equal(body.type, "error");
        assert.equal(body.error.type, "rate_limit_error");
        assert.match(body.error.message, /usage limit/);
        assert.ok(body.error.message.includes(`resets at ${iso}`), body.error.message);
      }
      assert.equal(stub.requests.length, 1, "the second request never reaches the backend");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("a usage limit reported inside the stream also fails over", async () => {
    const stub = await startCodexStub({
      events: [
        codexEvents({})[0],
        {
          type: "response.failed",
          response: {
            id: "resp_x",
            status: "failed",
            error: { code: "usage_limit_reached", message: "The usage limit has been reached" },
          },
        },
      ],
    });
    const anthropic = await startUpstreamStub();
    const ccmux = await startCcmux(failoverConfig(stub.baseUrl, anthropic.url), {
      tokens: codexTokens(stub),
    });
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).content[0].text, "Hello from the stub");
      assert.equal(anthropic.requests.length, 1);
      await post(ccmux.url).then((r) => r.text());
      assert.equal(stub.requests.length, 1);
    } finally {
      await ccmux.close();
      await stub.close();
      await anthropic.close();
    }
  });
});

describe("Codex credentials", () => {
  test("401 → one refresh → the retry succeeds; the account id comes from the JWT", async () => {
    const oauth = await startOAuthStub();
    const home = tempHome();
    const rt = oauth.seed();
    const old = record("chatgpt", rt, 3600, {
      kind: "openai",
      id_token: jwtWithAccount("acct-from-jwt"),
    });
    const tokenFile = join(home.dir, "oauth_tokens.json");
    writeFileSync(tokenFile, JSON.stringify({ chatgpt: old }), { mode: 0o600 });
    const stub = await startCodexStub(undefined, {
      accountId: "acct-from-jwt",
      acceptToken: (t) => oauth.issued.includes(t),
    });
    const config = testConfig(
      codexConfig(stub.baseUrl) + `
[auth]
token_file = "${tokenFile}"
[oauth.chatgpt]
kind = "openai"
token_url = "${oauth.tokenUrl}"
`,
      { CCMUX_HOME: home.dir },
    );
    const ccmux = await startCcmux(config, { tokens: new TokenManager({ config }) });
    try {
      const results = await Promise.all(
        [0, 1, 2].map(() => post(ccmux.url, { stream: true }).then((r) => r.text())),
      );
      for (const text of results) assert.match(text, /event: message_stop/);
      assert.equal(oauth.refreshCount, 1);
      const fresh = oauth.issued[0];
      const retried = stub.requests.filter((r) => r.headers["authorization"] === `Bearer ${fresh}`);
      assert.equal(retried.length, 3);
      for (const r of stub.requests) assert.equal(r.headers["chatgpt-account-id"], "acct-from-jwt");
      const log = ccmux.logs.join("");
      for (const secret of [old.access_token, rt, fresh]) {
        assert.equal(log.includes(secret), false, "a secret appears in the log");
      }
    } finally {
      await ccmux.close();
      await stub.close();
      await oauth.close();
      home.cleanup();
    }
  });

  test("a sign-in without a ChatGPT account id is a clear 401 naming ccmux login", async () => {
    const stub = await startCodexStub();
    const ccmux = await startCcmux(codexConfig(stub.baseUrl), {
      tokens: fixedTokens({ access_token: "opaque-token-without-claims" }),
    });
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 401);
      const body = await res.json();
      assert.equal(body.error.type, "authentication_error");
      assert.match(body.error.message, /no ChatGPT account id.*run: ccmux login chatgpt/);
      assert.equal(stub.requests.length, 0);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("openai-responses (public API)", () => {
  test("API key, output limit and sampling sent; no ChatGPT headers", async () => {
    const KEY = "sk-proj-public-api-key-0123456789";
    const stub = await startCodexStub({ events: codexEvents({ text: ["Public ", "hello"] }) }, {
      api: "public",
      token: KEY,
    });
    const ccmux = await startCcmux(`
[router]
default = "oai/gpt-5.5"
[[providers]]
name = "oai"
provider_type = "openai-responses"
api_key = "${KEY}"
base_url = "${stub.baseUrl}"
max_output_tokens = 4096
`);
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: "client-key", maxRetries: 0 });
      const msg = await client.messages.create({
        model: "claude-sonnet-5",
        max_tokens: 8000,
        ...({ temperature: 0.5 } as Obj),
        messages: [{ role: "user", content: "hi" }],
      });
      assert.deepEqual(msg.content, [{ type: "text", text: "Public hello" }]);
      const up = stub.requests[0];
      assert.equal(up.url, "/v1/responses");
      assert.equal(up.headers["authorization"], `Bearer ${KEY}`);
      assert.equal(up.headers["user-agent"], `ccmux/${VERSION}`);
      assert.equal(up.headers["chatgpt-account-id"], undefined);
      assert.equal(up.headers["originator"], undefined);
      assert.equal(up.json.max_output_tokens, 4096);
      assert.equal(up.json.temperature, 0.5);

      // An error that quotes the key comes back with the key masked.
      stub.reply({
        status: 401,
        json: { error: { message: `Incorrect API key provided: ${KEY}` } },
      });
      const res = await post(ccmux.url);
      assert.equal(res.status, 401);
      const text = await res.text();
      assert.equal(text.includes(KEY), false);
      assert.match(text, /Incorrect API key provided/);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});
