// Responses API SSE → Anthropic SSE: Codex-shaped streams against golden output, fed whole, byte
// by byte and in random splits (so cuts land inside multi-byte UTF-8 characters too); then the
// meaning of each translated stream, failures before and after the first byte, and tolerance.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ResponsesStreamTranslator } from "../src/translate/responses/stream.ts";
import { accumulate, prng, randomCuts, splitAt } from "./helpers/anthropic_sse.ts";
import {
  CODEX_STREAMS,
  codexFixture,
  codexGolden as golden,
  codexOpts,
  LONG_TOOL,
} from "./helpers/codex_fixtures.ts";

function run(bytes: Uint8Array, cuts: number[] = []) {
  const t = new ResponsesStreamTranslator(codexOpts());
  let out = "";
  for (const piece of splitAt(bytes, cuts)) out += t.push(piece);
  out += t.end();
  return { out, t };
}

const enc = (s: string) => new TextEncoder().encode(s);
const sse = (events: object[]) =>
  enc(
    events.map((e) => `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`)
      .join(""),
  );

describe("Responses stream golden fixtures", () => {
  for (const name of CODEX_STREAMS) {
    test(`${name}: whole, byte by byte and in random splits`, () => {
      const input = codexFixture(name);
      const expected = golden(name);
      const whole = run(input);
      assert.equal(whole.out, expected);
      const every = Array.from({ length: input.length }, (_, i) => i);
      assert.equal(run(input, every).out, expected);
      const rnd = prng(name.length * 7919 + 1);
      for (let round = 0; round < 25; round++) {
        const cuts = randomCuts(rnd, input.length);
        const r = run(input, cuts);
        assert.equal(r.out, expected, `cuts ${cuts.join(",")}`);
        assert.deepEqual(r.t.failure, whole.t.failure);
      }
    });
  }

  test("a cut inside every multi-byte character gives the same output", () => {
    for (const name of ["text", "parallel_tools", "early_args"]) {
      const input = codexFixture(name);
      const cuts: number[] = [];
      // Continuation bytes are 10xxxxxx: cutting before one splits a character.
      input.forEach((b, i) => (b & 0xc0) === 0x80 && cuts.push(i));
      assert.ok(cuts.length > 0, `${name} has multi-byte characters`);
      assert.equal(run(input, cuts).out, golden(name), name);
    }
  });

  test("CRLF line ends give the same output", () => {
    const lf = codexFixture("parallel_tools");
    const crlf = enc(new TextDecoder().decode(lf).replace(/\n/g, "\r\n"));
    const cuts: number[] = [];
    crlf.forEach((b, i) => b === 13 && cuts.push(i + 1));
    assert.equal(run(crlf, cuts).out, golden("parallel_tools"));
  });
});

describe("what the translated streams mean", () => {
  test("text: multi-byte text intact, usage with cached tokens split out", () => {
    const acc = accumulate(run(codexFixture("text")).out);
    assert.deepEqual(acc.blocks, [{ type: "text", text: "Bonjour à toi 🙂 — 日本語 ok." }]);
    assert.equal(acc.stop, "end_turn");
    assert.equal(acc.start?.id, "msg_resp_0a1b2c3d4e5f");
    assert.equal((acc.start?.usage as { input_tokens: number }).input_tokens, 100);
    assert.deepEqual(acc.usage, {
      input_tokens: 1200 - 1024,
      output_tokens: 18,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 1024,
    });
  });

  test("reasoning: one thinking block, parts as paragraphs, encrypted content as signature", () => {
    const acc = accumulate(run(codexFixture("reasoning")).out);
    assert.equal(acc.blocks.length, 2);
    const [thinking, text] = acc.blocks;
    assert.equal(thinking.type, "thinking");
    assert.equal(
      thinking.thinking,
      "**Reading the question**\n\nThe user wants 2+2.\n\n**Answer**\n\nThat is 4.",
    );
    assert.match(thinking.signature!, /^openai:gAAAAAB/);
    assert.deepEqual(text, { type: "text", text: "2 + 2 = 4." });
  });

  test("parallel function calls: two tool_use blocks, ids toolu_…, long name mapped back", () => {
    const acc = accumulate(run(codexFixture("parallel_tools")).out);
    assert.equal(acc.stop, "tool_use");
    assert.deepEqual(acc.blocks, [
      { type: "text", text: "Let me look." },
      {
        type: "tool_use",
        id: "toolu_call_Rd8uPz1",
        name: "Read",
        input: { file_path: "/tmp/é.txt" },
      },
      {
        type: "tool_use",
        id: "toolu_call_Mq2wX",
        name: LONG_TOOL,
        input: { q: "日本語 ✓", limit: 5 },
      },
    ]);
  });

  test("argument deltas before output_item.added, and reasoning with only encrypted content", () => {
    const acc = accumulate(run(codexFixture("early_args")).out);
    assert.equal(acc.blocks[0].type, "thinking");
    assert.equal(acc.blocks[0].thinking, "");
    assert.match(acc.blocks[0].signature!, /^openai:/);
    assert.deepEqual(acc.blocks[1], {
      type: "tool_use",
      id: "toolu_call_E4rly",
      name: "Bash",
      input: { command: "echo é", description: "Echo" },
    });
  });

  test("response.incomplete → max_tokens; items only in completed.output still arrive", () => {
    assert.equal(accumulate(run(codexFixture("incomplete")).out).stop, "max_tokens");
    const only = accumulate(run(codexFixture("output_only")).out);
    assert.deepEqual(only.blocks.map((b) => b.type), ["thinking", "text", "tool_use"]);
    assert.equal(only.stop, "tool_use");
  });
});

describe("failures", () => {
  test("response.failed before any content: nothing written, a 429 with its retry delay", () => {
    const { out, t } = run(codexFixture("failed_early"));
    assert.equal(out, "");
    assert.equal(t.done, true);
    assert.equal(t.committed, false);
    assert.equal(t.failure?.status, 429);
    assert.equal(t.failure?.type, "rate_limit_error");
    assert.equal(t.failure?.code, "rate_limit_exceeded");
    assert.equal(t.failure?.retryAfterSeconds, 11.054);
  });

  test("an error event before content: the retired model's 400 with its message", () => {
    const { out, t } = run(codexFixture("error_event"));
    assert.equal(out, "");
    assert.equal(t.failure?.status, 400);
    assert.equal(t.failure?.type, "invalid_request_error");
    assert.match(t.failure!.message, /gpt-5\.3-codex' model is not supported/);
  });

  test("response.failed after content: an error event ends the stream, no failure to answer", () => {
    const { out, t } = run(codexFixture("failed_midstream"));
    const acc = accumulate(out);
    assert.equal(acc.events[0], "message_start");
    assert.deepEqual(acc.error, {
      type: "api_error",
      message: "An error occurred while processing your request.",
    });
    assert.ok(!acc.events.includes("message_stop"));
    assert.equal(t.failure, undefined);
    assert.equal(t.push(enc('data: {"type":"response.output_text.delta","delta":"x"}\n\n')), "");
  });

  test("a stream that ends before response.completed", () => {
    const acc = accumulate(run(codexFixture("truncated")).out);
    assert.match(acc.error!.message, /codex closed the stream before response\.completed/);
    const empty = run(new Uint8Array());
    assert.equal(empty.out, "");
    assert.equal(empty.t.failure?.status, 502);
  });

  test("a broken connection: failure before the first byte, error event after", () => {
    const before = new ResponsesStreamTranslator(codexOpts());
    assert.equal(before.push(codexFixture("failed_early").slice(0, 300)), "");
    assert.equal(before.error(new Error("socket hang up")), "");
    assert.match(before.failure!.message, /socket hang up/);
    assert.equal(before.failure!.status, 502);

    const after = new ResponsesStreamTranslator(codexOpts());
    const bytes = codexFixture("text");
    const cut = new TextDecoder().decode(bytes).indexOf("response.output_text.done");
    let out = after.push(bytes.slice(0, cut));
    out += after.error(new Error("socket hang up"));
    const acc = accumulate(out);
    assert.match(acc.error!.message, /upstream connection failed: socket hang up/);
    assert.equal(after.failure, undefined);
  });

  test("error codes map to the status the client and the dispatcher need", () => {
    const cases: [object, number, string][] = [
      [
        { code: "context_length_exceeded", message: "Your input exceeds the context window" },
        400,
        "invalid_request_error",
      ],
      [{ code: "server_is_overloaded", message: "busy" }, 529, "overloaded_error"],
      [{ code: "insufficient_quota", message: "quota" }, 429, "rate_limit_error"],
      [{ code: "server_error", message: "oops" }, 502, "api_error"],
    ];
    for (const [error, status, type] of cases) {
      const { t } = run(sse([{ type: "response.failed", response: { status: "failed", error } }]));
      assert.equal(t.failure?.status, status, JSON.stringify(error));
      assert.equal(t.failure?.type, type);
    }
    const { t } = run(sse([{
      type: "response.failed",
      response: { error: { code: "context_length_exceeded", message: "too long" } },
    }]));
    assert.match(t.failure!.message, /^prompt is too long: /);
  });
});

describe("tolerance", () => {
  const created = { type: "response.created", response: { id: "resp_t" } };
  const completed = { type: "response.completed", response: { id: "resp_t", output: [] } };

  test("only .done events, no deltas: the text arrives once", () => {
    const { out } = run(sse([
      created,
      { type: "response.output_item.added", output_index: 0, item: { id: "m1", type: "message" } },
      { type: "response.output_text.done", item_id: "m1", output_index: 0, text: "Once." },
      {
        type: "response.output_item.done",
        output_index: 0,
        item: { id: "m1", type: "message", content: [{ type: "output_text", text: "Once." }] },
      },
      completed,
    ]));
    assert.deepEqual(accumulate(out).blocks, [{ type: "text", text: "Once." }]);
  });

  test("a call seen only as argument deltas gets its name from completed.output", () => {
    const { out } = run(sse([
      created,
      {
        type: "response.function_call_arguments.delta",
        item_id: "fc9",
        output_index: 0,
        delta: '{"a":',
      },
      {
        type: "response.function_call_arguments.delta",
        item_id: "fc9",
        output_index: 0,
        delta: "1}",
      },
      {
        type: "response.completed",
        response: {
          output: [{
            id: "fc9",
            type: "function_call",
            call_id: "call_9",
            name: "mcp__query",
            arguments: '{"a":1}',
          }],
        },
      },
    ]));
    assert.deepEqual(accumulate(out).blocks, [
      { type: "tool_use", id: "toolu_call_9", name: LONG_TOOL, input: { a: 1 } },
    ]);
  });

  test("unknown events, comments and non-JSON lines are ignored; no [DONE] needed", () => {
    const body = ": keep-alive\n\n" + "data: not json\n\n" +
      new TextDecoder().decode(sse([
        created,
        { type: "response.web_search_call.in_progress", output_index: 0, item_id: "ws1" },
        {
          type: "response.output_item.added",
          output_index: 0,
          item: { id: "ws1", type: "web_search_call" },
        },
        { type: "response.output_text.delta", item_id: "m", output_index: 1, delta: "ok" },
        completed,
      ]));
    const acc = accumulate(run(enc(body)).out);
    assert.deepEqual(acc.blocks, [{ type: "text", text: "ok" }]);
    assert.equal(acc.events.at(-1), "message_stop");
  });

  test("a refusal ends with stop_reason refusal; incomplete for content_filter too", () => {
    const refusal = run(sse([
      created,
      { type: "response.refusal.delta", item_id: "m", output_index: 0, delta: "I can't help." },
      completed,
    ]));
    const acc = accumulate(refusal.out);
    assert.equal(acc.stop, "refusal");
    assert.deepEqual(acc.blocks, [{ type: "text", text: "I can't help." }]);
    const filtered = run(sse([
      created,
      { type: "response.output_text.delta", item_id: "m", output_index: 0, delta: "Some" },
      {
        type: "response.incomplete",
        response: { incomplete_details: { reason: "content_filter" } },
      },
    ]));
    assert.equal(accumulate(filtered.out).stop, "refusal");
  });

  test("a completed stream without usage estimates output tokens", () => {
    const { out } = run(sse([
      created,
      { type: "response.output_text.delta", output_index: 0, delta: "x".repeat(40) },
      completed,
    ]));
    assert.equal(accumulate(out).usage?.output_tokens, 10);
  });
});
