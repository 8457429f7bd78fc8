// serve → a stub GitHub Copilot: Claude models pass through to {base}/v1/messages byte-exact but
// for `model` (streamed as they arrive, no Anthropic OAuth beta, no x-api-key), GPT models go to
// {base}/chat/completions translated; X-Initiator user / agent, Copilot-Vision-Request, ccmux's
// own User-Agent; the models list decides the endpoint; 401 → refresh and retry; the token
// exchange mode with its in-memory session token renewed before expiry and after a 401.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { startCcmux, type TestCcmux } from "./helpers/ccmux_server.ts";
import { type CopilotStub, startCopilotStub } from "./helpers/copilot_stub.ts";
import { claudeCodeBody, claudeCodeRequest } from "./helpers/claude_code_request.ts";
import { haikuRequest } from "./helpers/cc_requests.ts";
import { accumulate } from "./helpers/anthropic_sse.ts";
import type { TokenSource } from "../src/proxy/provider.ts";
import type { TokenRecord } from "../src/auth/types.ts";
import { VERSION } from "../src/version.ts";

type Obj = Record<string, unknown>;

const GH = "gho_stubgithubtoken0123456789abcdef";

/** A TokenSource for the github-copilot account "gh"; a reject hands out `next` (if any). */
function tokens(first = GH, next?: string): TokenSource & { rejects: string[] } {
  let current: TokenRecord = { provider_id: "gh", kind: "github-copilot", access_token: first };
  const rejects: string[] = [];
  return {
    rejects,
    accessToken: () => Promise.resolve(current),
    refreshAfterReject: (_id, rejected) => {
      rejects.push(rejected);
      if (next) current = { ...current, access_token: next };
      return Promise.resolve(current);
    },
  };
}

function config(stub: CopilotStub, opts: { exchange?: boolean; baseUrl?: string } = {}): string {
  return `
[router]
default = "copilot/claude-sonnet-4.5"

[[providers]]
name = "copilot"
provider_type = "github-copilot"
oauth_provider = "gh"
base_url = "${opts.baseUrl ?? stub.url}"

[oauth.gh]
kind = "github-copilot"
client_id = "Ov23test"
copilot_token_exchange = ${opts.exchange === true}
copilot_token_url = "${stub.tokenUrl}"
`;
}

async function setup(
  stubOpts: Partial<Parameters<typeof startCopilotStub>[0]> = {},
  cfg: { exchange?: boolean; baseUrl?: string } = {},
  source = tokens(),
) {
  const stub = await startCopilotStub({ githubToken: GH, ...stubOpts });
  const ccmux = await startCcmux(config(stub, cfg), { tokens: source });
  return {
    stub,
    ccmux,
    source,
    async close() {
      await ccmux.close();
      await stub.close();
    },
  };
}

function post(ccmux: TestCcmux, body: Obj | string, headers: Record<string, string> = {}) {
  return fetch(`${ccmux.url}/v1/messages?beta=true`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function assertNoSecretIn(text: string, secrets: string[]) {
  for (const s of secrets) assert.ok(!text.includes(s), "a token reached the output");
}

const user = (content: unknown) => ({ role: "user", content });
const toolTurn = [
  user("Read a.ts"),
  {
    role: "assistant",
    content: [{ type: "tool_use", id: "toolu_1", name: "Read", input: { file_path: "a.ts" } }],
  },
  user([{ type: "tool_result", tool_use_id: "toolu_1", content: "export const x = 1;" }]),
];
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";

describe("serve → GitHub Copilot", () => {
  test("a Claude model: Claude Code's request reaches /v1/messages byte-exact but model, streamed as it arrives", async () => {
    const t = await setup({ hold: true });
    try {
      const cc = claudeCodeRequest({
        auth: { authToken: "client-token" },
        betas: ["claude-code-20250219", "oauth-2025-04-20", "interleaved-thinking-2025-05-14"],
      });
      const res = await fetch(`${t.ccmux.url}${cc.path}`, {
        method: "POST",
        headers: cc.headers,
        body: cc.body,
      });
      assert.equal(res.status, 200);
      // The first event arrives while the upstream still holds the rest.
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.match(Buffer.from(first.value!).toString(), /message_start/);
      t.stub.release();
      let text = Buffer.from(first.value!).toString();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        text += Buffer.from(r.value).toString();
      }
      assert.equal(accumulate(text).blocks[0].text, "Hello from Copilot");

      const up = t.stub.inference;
      assert.equal(up.length, 1);
      assert.equal(up[0].url, "/v1/messages?beta=true");
      const want = cc.body.replace('"model":"claude-opus-4-8"', '"model":"claude-sonnet-4.5"');
      assert.ok(Buffer.from(up[0].raw).equals(Buffer.from(want)), "body changed beyond model");
      const h = up[0].headers;
      assert.equal(h.authorization, `Bearer ${GH}`);
      assert.equal(h["x-api-key"], undefined);
      assert.equal(h["anthropic-beta"], "claude-code-20250219,interleaved-thinking-2025-05-14");
      assert.equal(h["user-agent"], `ccmux/${VERSION}`);
      assert.equal(h["x-initiator"], "user"); // "Continue." then a trailing system message
      assert.equal(h["copilot-vision-request"], undefined);
      assert.equal(h["anthropic-version"], "2023-06-01");
      // The models list was read once, with the same credential and identity.
      assert.equal(t.stub.modelsRequests.length, 1);
      assert.equal(t.stub.modelsRequests[0].headers["user-agent"], `ccmux/${VERSION}`);
      assert.equal(t.stub.modelsRequests[0].headers["x-initiator"], undefined);
      assertNoSecretIn(t.ccmux.logs.join(""), [GH]);
    } finally {
      await t.close();
    }
  });

  test("a GPT model: Claude Code's request reaches /chat/completions translated, and streams back", async () => {
    const t = await setup();
    try {
      const cc = claudeCodeRequest({ body: { model: "copilot/gpt-5" } });
      const res = await fetch(`${t.ccmux.url}${cc.path}`, {
        method: "POST",
        headers: cc.headers,
        body: cc.body,
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
      const got = accumulate(await res.text());
      assert.equal(got.blocks[0].text, "Hi from GPT");
      assert.equal(got.stop, "end_turn");
      const up = t.stub.inference;
      assert.equal(up.length, 1);
      assert.equal(up[0].url, "/chat/completions");
      const chat = up[0].json;
      assert.equal(chat.model, "gpt-5");
      assert.equal(chat.stream, true);
      const msgs = chat.messages as Obj[];
      assert.equal(msgs[0].role, "system");
      assert.ok(msgs.some((m) => m.role === "tool"), "tool results translated");
      assert.equal((chat.tools as unknown[]).length, 24);
      const h = up[0].headers;
      assert.equal(h.authorization, `Bearer ${GH}`);
      assert.equal(h["user-agent"], `ccmux/${VERSION}`);
      assert.equal(h["x-initiator"], "user");
      assert.equal(h["anthropic-beta"], undefined);
    } finally {
      await t.close();
    }
  });

  test("X-Initiator: agent for a tool-result turn (also with a trailing system message), on both paths", async () => {
    const t = await setup();
    try {
      for (const model of ["claude-sonnet-4.5", "copilot/gpt-5"]) {
        for (
          const messages of [toolTurn, [...toolTurn, { role: "system", content: "plan mode" }]]
        ) {
          const res = await post(t.ccmux, { model, max_tokens: 100, stream: true, messages });
          assert.equal(res.status, 200, await res.clone().text());
          await res.text();
        }
      }
      // A Claude Code body whose last turn is a tool result.
      const cc = claudeCodeBody();
      const msgs = (cc.messages as Obj[]).slice(0, -2);
      const res = await post(t.ccmux, { ...cc, messages: msgs });
      await res.text();
      // A haiku request (thinking enabled) with a person's turn.
      await (await post(t.ccmux, haikuRequest({ model: "copilot/gpt-5" }))).text();
      const seen = t.stub.inference.map((r) => [r.url.split("?")[0], r.headers["x-initiator"]]);
      assert.deepEqual(seen, [
        ["/v1/messages", "agent"],
        ["/v1/messages", "agent"],
        ["/chat/completions", "agent"],
        ["/chat/completions", "agent"],
        ["/v1/messages", "agent"],
        ["/chat/completions", "user"],
      ]);
    } finally {
      await t.close();
    }
  });

  test("an image sets Copilot-Vision-Request on both paths (also inside a tool result)", async () => {
    const t = await setup();
    try {
      const image = {
        type: "image",
        source: { type: "base64", media_type: "image/png", data: PNG },
      };
      const inResult = [
        ...toolTurn.slice(0, 2),
        user([{ type: "tool_result", tool_use_id: "toolu_1", content: [image] }]),
      ];
      for (const model of ["claude-sonnet-4.5", "copilot/gpt-5"]) {
        const r1 = await post(t.ccmux, {
          model,
          max_tokens: 100,
          stream: true,
          messages: [user([{ type: "text", text: "What is this?" }, image])],
        });
        await r1.text();
        const r2 = await post(t.ccmux, {
          model,
          max_tokens: 100,
          stream: true,
          messages: inResult,
        });
        await r2.text();
        const r3 = await post(t.ccmux, { model, max_tokens: 100, messages: [user("no image")] });
        await r3.text();
      }
      const seen = t.stub.inference.map((r) => [
        r.headers["copilot-vision-request"] ?? null,
        r.headers["x-initiator"],
      ]);
      assert.deepEqual(seen, [
        ["true", "user"],
        ["true", "agent"],
        [null, "user"],
        ["true", "user"],
        ["true", "agent"],
        [null, "user"],
      ]);
      const parts = (t.stub.inference[3].json.messages as Obj[]).at(-1)!.content as Obj[];
      assert.ok(parts.some((p) => p.type === "image_url"), "image translated for chat");
    } finally {
      await t.close();
    }
  });

  test("the models list decides: a Claude model Copilot serves by chat only goes to /chat/completions; non-streaming answers", async () => {
    const t = await setup();
    try {
      const a = await post(t.ccmux, {
        model: "copilot/claude-chat-only",
        max_tokens: 50,
        messages: [user("hi")],
      });
      assert.equal(a.status, 200);
      assert.equal(((await a.json()).content as Obj[])[0].text, "Hi from GPT");
      const b = await post(t.ccmux, {
        model: "claude-sonnet-4.5",
        max_tokens: 50,
        messages: [user("hi")],
      });
      assert.equal(b.status, 200);
      assert.equal(((await b.json()).content as Obj[])[0].text, "Hello from Copilot");
      // A model the list does not name: a Claude name goes to /v1/messages.
      const c = await post(t.ccmux, {
        model: "copilot/claude-unlisted",
        max_tokens: 50,
        messages: [user("hi")],
      });
      await c.text();
      assert.deepEqual(t.stub.inference.map((r) => r.url.split("?")[0]), [
        "/chat/completions",
        "/v1/messages",
        "/v1/messages",
      ]);
      assert.equal(t.stub.modelsRequests.length, 1, "the list is cached");
      // count_tokens is answered locally.
      const ct = await fetch(`${t.ccmux.url}/v1/messages/count_tokens`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-sonnet-4.5", messages: [user("hello there")] }),
      });
      assert.equal(ct.status, 200);
      assert.equal(typeof (await ct.json()).input_tokens, "number");
      assert.equal(t.stub.inference.length, 3);
    } finally {
      await t.close();
    }
  });

  test("a 401 on the GitHub token: one refresh, one retry", async () => {
    const fresh = "ghu_freshtoken9876543210";
    const source = tokens(GH, fresh);
    const t = await setup({ githubToken: fresh }, {}, source);
    try {
      const res = await post(t.ccmux, {
        model: "claude-sonnet-4.5",
        max_tokens: 50,
        messages: [user("hi")],
      });
      assert.equal(res.status, 200, await res.clone().text());
      await res.text();
      // The models list asked first: refused, refreshed once, asked again; then the message.
      const seen = t.stub.requests.map((r) => [r.url.split("?")[0], r.headers.authorization]);
      assert.deepEqual(seen, [
        ["/models", `Bearer ${GH}`],
        ["/models", `Bearer ${fresh}`],
        ["/v1/messages", `Bearer ${fresh}`],
      ]);
      assert.deepEqual(source.rejects, [GH]);
      assertNoSecretIn(t.ccmux.logs.join(""), [GH, fresh]);
    } finally {
      await t.close();
    }
  });
});

describe("serve → GitHub Copilot with copilot_token_exchange", () => {
  test("trades the GitHub token for a session token, uses endpoints.api, renews before expiry and after a 401", async () => {
    // Expires in 61 s: renewed 60 s before, i.e. after 1 s.
    const t = await setup({ sessionExpiresIn: 61 }, {
      exchange: true,
      baseUrl: "http://127.0.0.1:9/unused",
    });
    try {
      const ask = async () => {
        const res = await post(t.ccmux, {
          model: "claude-sonnet-4.5",
          max_tokens: 50,
          stream: true,
          messages: [user("hi")],
        });
        assert.equal(res.status, 200, await res.clone().text());
        await res.text();
        return t.stub.inference.at(-1)!;
      };
      const r1 = await ask();
      assert.equal(t.stub.exchanges.length, 1);
      const ex = t.stub.exchanges[0];
      assert.equal(ex.headers.authorization, `token ${GH}`);
      assert.equal(ex.headers["user-agent"], `ccmux/${VERSION}`);
      assert.equal(ex.headers["editor-version"], undefined);
      // endpoints.api is the base: the stub saw the /api prefix, with the session token.
      assert.equal(r1.prefix, "/api");
      assert.equal(r1.headers.authorization, `Bearer ${ex.token}`);
      assert.equal(t.stub.modelsRequests[0].prefix, "/api");
      assert.equal(t.stub.modelsRequests[0].headers.authorization, `Bearer ${ex.token}`);

      const r2 = await ask();
      assert.equal(t.stub.exchanges.length, 1, "a fresh session token is reused");
      assert.equal(r2.headers.authorization, `Bearer ${ex.token}`);

      await new Promise((r) => setTimeout(r, 1100));
      const r3 = await ask();
      assert.equal(t.stub.exchanges.length, 2, "renewed before its expiry");
      const second = t.stub.exchanges[1].token;
      assert.notEqual(second, ex.token);
      assert.equal(r3.headers.authorization, `Bearer ${second}`);

      // The upstream rejects the session token: a new exchange, one retry.
      t.stub.revoke(second);
      const before = t.stub.inference.length;
      const r4 = await ask();
      assert.equal(t.stub.exchanges.length, 3);
      assert.equal(t.stub.inference.length, before + 2);
      assert.equal(r4.headers.authorization, `Bearer ${t.stub.exchanges[2].token}`);
      assert.equal(t.source.rejects.length, 0, "the GitHub token was not refreshed");
      await t.ccmux.waitForLog(/session token renewed/);
      assertNoSecretIn(t.ccmux.logs.join(""), t.stub.secrets());
    } finally {
      await t.close();
    }
  });

  test("an exchange GitHub refuses (401): one refresh of the GitHub token, then the 401 with its reason", async () => {
    const t = await setup({ githubToken: "ghu_other" }, { exchange: true });
    try {
      const res = await post(t.ccmux, {
        model: "copilot/gpt-5",
        max_tokens: 50,
        messages: [user("hi")],
      });
      const text = await res.text();
      // The exchange answered 401 for the GitHub token: refreshed once (the stub token source
      // has no new one), then the failure reaches the client.
      assert.equal(res.status, 401, text);
      assert.match(text, /Copilot token exchange[^"]*HTTP 401/);
      // Once for the models list, once for the message.
      assert.deepEqual(t.source.rejects, [GH, GH]);
      assert.equal(t.stub.inference.length, 0);
      assertNoSecretIn(text + t.ccmux.logs.join(""), [GH]);
    } finally {
      await t.close();
    }
  });
});
