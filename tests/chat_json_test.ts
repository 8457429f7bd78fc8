// ChatJsonWriter: the text it sends is always the JSON of the body it is given (reused parts
// only when equal), and the reuse really happens for repeated tools and conversation prefixes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ChatJsonWriter, deepEqual } from "../src/translate/chat_json.ts";
import { anthropicToOpenAI } from "../src/translate/request.ts";
import type { OpenAIChatRequest } from "../src/translate/types.ts";
import { claudeCodeBody } from "./helpers/claude_code_request.ts";

const OPTS = { model: "gpt-x", maxCompletionTokens: false, maxOutputTokens: 0 };

/** A fresh translation of a fresh Claude Code body (new objects, as per request). */
function chatOf(over: Record<string, unknown> = {}): OpenAIChatRequest {
  return anthropicToOpenAI(structuredClone(claudeCodeBody(over, 16)) as never, OPTS);
}

describe("ChatJsonWriter", () => {
  test("the text parses back to the body, first time and when reused", () => {
    const w = new ChatJsonWriter();
    for (let i = 0; i < 3; i++) {
      const chat = chatOf();
      const text = w.stringify(chat);
      assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(chat)));
    }
  });

  test("a change anywhere deep in tools or a message is sent, not the remembered text", () => {
    const w = new ChatJsonWriter();
    const first = chatOf();
    w.stringify(first);
    w.stringify(chatOf()); // remembered

    const schemaEdit = chatOf();
    const fn = schemaEdit.tools![3].function as { parameters: Record<string, unknown> };
    fn.parameters = { ...fn.parameters, additionalProperties: true };
    assert.deepEqual(JSON.parse(w.stringify(schemaEdit)), JSON.parse(JSON.stringify(schemaEdit)));

    const msgEdit = chatOf();
    const last = msgEdit.messages[msgEdit.messages.length - 1];
    last.content = typeof last.content === "string" ? last.content + "!" : "changed";
    assert.deepEqual(JSON.parse(w.stringify(msgEdit)), JSON.parse(JSON.stringify(msgEdit)));

    // Same values under another key order are another text: never mixed up.
    const reordered = chatOf();
    const m0 = reordered.messages[0] as unknown as Record<string, unknown>;
    reordered.messages[0] = { content: m0.content, role: m0.role } as never;
    assert.equal(
      w.stringify(reordered).includes(JSON.stringify(reordered.messages[0])),
      true,
    );

    // Fewer messages, no tools, other top-level members.
    const small: OpenAIChatRequest = {
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 5,
      stream: true,
    };
    assert.deepEqual(JSON.parse(w.stringify(small)), small);
    assert.deepEqual(JSON.parse(w.stringify({ ...small, messages: [] })), {
      ...small,
      messages: [],
    });
  });

  test("equal tools and prefix messages are reused (the same string is returned)", () => {
    const w = new ChatJsonWriter();
    const a = w.stringify(chatOf());
    const b = w.stringify(chatOf());
    assert.equal(a, b);
    // A longer conversation: the shared prefix and tools are found, the new turn added.
    const longer = chatOf();
    longer.messages.push({ role: "user", content: "one more turn" });
    const c = w.stringify(longer);
    assert.deepEqual(JSON.parse(c), JSON.parse(JSON.stringify(longer)));
    assert.ok(c.length > b.length);
  });

  test("deepEqual: key order, arrays vs objects, NaN, nesting limit", () => {
    assert.equal(deepEqual({ a: 1, b: [1, { c: "x" }] }, { a: 1, b: [1, { c: "x" }] }), true);
    assert.equal(deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 }), false);
    assert.equal(deepEqual([], {}), false);
    assert.equal(deepEqual({}, []), false);
    assert.equal(deepEqual({ a: NaN }, { a: NaN }), false);
    assert.equal(deepEqual({ a: null }, { a: undefined }), false);
    let x: unknown = 1;
    let y: unknown = 1;
    for (let i = 0; i < 300; i++) {
      x = [x];
      y = [y];
    }
    assert.equal(deepEqual(x, y), false);
  });
});
