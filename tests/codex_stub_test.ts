// The stub Codex backend over a real socket: it refuses what the real one refuses (headers and
// body rules, with the real messages), accepts what ccmux's translator sends, and its scripted
// answers — a stream, the usage-limit 429, 401, a cut mid-stream — reach the translator intact.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { anthropicToResponses } from "../src/translate/responses/request.ts";
import { ResponsesStreamTranslator } from "../src/translate/responses/stream.ts";
import type { AnthropicRequest } from "../src/translate/types.ts";
import { mainRequest } from "./helpers/cc_requests.ts";
import {
  CODEX_DETAIL,
  codexEvents,
  type CodexStub,
  startCodexStub,
  unauthorizedReply,
  usageLimitReply,
} from "./helpers/codex_stub.ts";
import { accumulate } from "./helpers/anthropic_sse.ts";

type Obj = Record<string, unknown>;

/** The body's chunks as they arrive (tsconfig's DOM lib has no async iterator on streams). */
async function* chunks(res: Response): AsyncGenerator<Uint8Array> {
  const reader = res.body!.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

describe("codex stub", () => {
  let stub: CodexStub;
  before(async () => {
    stub = await startCodexStub();
  });
  after(() => stub.close());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stub.baseUrl}/responses`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${stub.token}`,
        "chatgpt-account-id": stub.accountId,
        ...headers,
      },
      body: JSON.stringify(body),
    });
  const valid = (): Obj => ({
    model: "gpt-5.5",
    instructions: "Be brief.",
    input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
    store: false,
    stream: true,
  });

  test("body rules answer 400 with the backend's detail messages", async () => {
    const cases: [Obj, string][] = [
      [{ instructions: undefined }, CODEX_DETAIL.instructions],
      [{ instructions: "" }, CODEX_DETAIL.instructions],
      [{ store: undefined }, CODEX_DETAIL.store],
      [{ store: true }, CODEX_DETAIL.store],
      [{ stream: false }, CODEX_DETAIL.stream],
      [{ max_output_tokens: 1000 }, "Unsupported parameter: max_output_tokens"],
      [{ temperature: 0.5 }, "Unsupported parameter: temperature"],
    ];
    for (const [change, message] of cases) {
      const body = { ...valid(), ...change };
      for (const k of Object.keys(change)) if (change[k] === undefined) delete body[k];
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(change));
      assert.deepEqual(await res.json(), { detail: message });
    }
    assert.equal(CODEX_DETAIL.instructions, "Instructions are required");
    assert.equal(CODEX_DETAIL.store, "Store must be set to false");
    assert.equal(CODEX_DETAIL.stream, "Stream must be set to true");
  });

  test("headers: bearer token and ChatGPT-Account-ID", async () => {
    const noAuth = await post(valid(), { authorization: "Bearer wrong" });
    assert.equal(noAuth.status, 401);
    await noAuth.body?.cancel();
    const noAccount = await post(valid(), { "chatgpt-account-id": "someone-else" });
    assert.equal(noAccount.status, 403);
    await noAccount.body?.cancel();
  });

  test("input rules: orphan outputs, long call ids and foreign reasoning are refused", async () => {
    const withInput = (input: Obj[]) => ({ ...valid(), input });
    const orphan = await post(
      withInput([{ type: "function_call_output", call_id: "call_x", output: "" }]),
    );
    assert.equal(orphan.status, 400);
    assert.match(
      JSON.stringify(await orphan.json()),
      /No tool call found for function call output/,
    );
    const long = await post(
      withInput([{ type: "function_call", call_id: "c".repeat(65), name: "A", arguments: "{}" }]),
    );
    assert.equal(long.status, 400);
    assert.match(JSON.stringify(await long.json()), /maximum length 64/);
    const foreign = await post(
      withInput([{ type: "reasoning", summary: [], encrypted_content: "EqQBCkgI" }]),
    );
    assert.equal(foreign.status, 400);
    assert.match(JSON.stringify(await foreign.json()), /invalid_encrypted_content/);
  });

  test("a translated Claude Code request is accepted, recorded, and its stream translates", async () => {
    const { body, toolNames } = anthropicToResponses(mainRequest() as AnthropicRequest, {
      model: "gpt-5.5",
      target: "codex",
    });
    stub.reply({
      events: codexEvents({
        reasoning: { summary: ["Plan: read it."], encrypted: "gAAAAB-stub-enc" },
        text: ["Réading ", "🙂"],
        calls: [{ callId: "call_1", name: "Tool3", args: ['{"file_path":', '"/a"}'] }],
      }),
    });
    const before = stub.requests.length;
    const res = await post(body, { accept: "text/event-stream" });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const t = new ResponsesStreamTranslator({ model: "gpt-5.5", toolNames });
    let out = "";
    for await (const chunk of chunks(res)) out += t.push(chunk);
    out += t.end();
    const acc = accumulate(out);
    assert.deepEqual(acc.blocks, [
      { type: "thinking", thinking: "Plan: read it.", signature: "openai:gAAAAB-stub-enc" },
      { type: "text", text: "Réading 🙂" },
      { type: "tool_use", id: "toolu_call_1", name: "Tool3", input: { file_path: "/a" } },
    ]);
    assert.equal(acc.stop, "tool_use");
    assert.equal(acc.usage?.cache_read_input_tokens, 1024);
    const rec = stub.requests[before];
    assert.equal(rec.url, "/backend-api/codex/responses");
    assert.equal(rec.headers["chatgpt-account-id"], stub.accountId);
    assert.equal((rec.json.tools as Obj[]).length, 24);
    stub.reply({ events: codexEvents({ text: ["Hel", "lo"] }) });
  });

  test("the usage-limit 429 with its x-codex-* headers, and a 401", async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 3600;
    stub.reply(usageLimitReply(resetsAt));
    const res = await post(valid());
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("x-codex-primary-reset-at"), String(resetsAt));
    assert.equal(res.headers.get("x-codex-primary-used-percent"), "100");
    const json = await res.json() as { error: Obj };
    assert.equal(json.error.type, "usage_limit_reached");
    assert.equal(json.error.resets_at, resetsAt);
    stub.reply(unauthorizedReply());
    const unauth = await post(valid());
    assert.equal(unauth.status, 401);
    await unauth.body?.cancel();
    stub.reply({ events: codexEvents({ text: ["Hel", "lo"] }) });
  });

  test("a cut mid-stream reaches the translator as a connection error after content", async () => {
    stub.reply({ events: codexEvents({ text: ["one ", "two ", "three"] }), breakAfter: 6 });
    const res = await post(valid());
    assert.equal(res.status, 200);
    const t = new ResponsesStreamTranslator({ model: "gpt-5.5" });
    let out = "";
    try {
      for await (const chunk of chunks(res)) out += t.push(chunk);
      out += t.end();
    } catch (err) {
      out += t.error(err);
    }
    const acc = accumulate(out);
    assert.equal(acc.blocks[0]?.text, "one two ");
    assert.ok(acc.error, "the stream ends with an error event");
    assert.ok(!acc.events.includes("message_stop"));
    stub.reply({ events: codexEvents({ text: ["Hel", "lo"] }) });
  });
});
