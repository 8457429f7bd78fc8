// OpenAI SSE → Anthropic SSE: recorded-shape streams against golden output, fed whole, byte by
// byte and in random splits; SSE parsing edge cases; broken and empty upstreams; cancellation.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { translateStream } from "../src/translate/stream.ts";
import { SseParser } from "../src/translate/sse.ts";

const FIXTURES = join(import.meta.dirname ?? ".", "fixtures", "openai");
const STREAMS = [
  "text",
  "tools",
  "interleaved_tools",
  "reasoning",
  "length",
  "error",
  "truncated",
];
const OPTS = { model: "test-model", inputTokens: 100 };

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

/** A ReadableStream that delivers `bytes` cut at the given offsets. */
function streamOf(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    if (c > prev) pieces.push(bytes.slice(prev, c));
    prev = Math.max(prev, c);
  }
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < pieces.length) controller.enqueue(pieces[i++]);
      else controller.close();
    },
  });
}

async function translate(bytes: Uint8Array, cuts: number[] = []): Promise<string> {
  return await new Response(translateStream(streamOf(bytes, cuts), OPTS)).text();
}

/** A small deterministic PRNG so a failing split can be reproduced. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

interface Block {
  type: string;
  text?: string;
  thinking?: string;
  id?: string;
  name?: string;
  json?: string;
  input?: unknown;
}

/** Accumulates Anthropic SSE text into a final message, checking the event order as it goes. */
function accumulate(sse: string): { blocks: Block[]; stop?: string; events: string[] } {
  const blocks: Block[] = [];
  const events: string[] = [];
  let open = -1;
  let stop: string | undefined;
  for (const raw of sse.split("\n\n")) {
    if (!raw) continue;
    const [eventLine, dataLine] = raw.split("\n");
    const type = eventLine.slice("event: ".length);
    const data = JSON.parse(dataLine.slice("data: ".length));
    assert.equal(data.type, type);
    events.push(type);
    if (type === "content_block_start") {
      assert.equal(open, -1, "a block starts while another is open");
      assert.equal(data.index, blocks.length);
      open = data.index;
      blocks.push({ ...data.content_block, json: "" });
    } else if (type === "content_block_delta") {
      assert.equal(data.index, open);
      const b = blocks[open];
      if (data.delta.type === "text_delta") b.text += data.delta.text;
      else if (data.delta.type === "thinking_delta") b.thinking += data.delta.thinking;
      else if (data.delta.type === "input_json_delta") b.json += data.delta.partial_json;
      else assert.fail(`unknown delta ${data.delta.type}`);
    } else if (type === "content_block_stop") {
      assert.equal(data.index, open);
      const b = blocks[open];
      if (b.type === "tool_use") b.input = b.json ? JSON.parse(b.json!) : {};
      delete b.json;
      open = -1;
    } else if (type === "message_delta") {
      assert.equal(open, -1);
      stop = data.delta.stop_reason;
    }
  }
  return { blocks, stop, events };
}

describe("translateStream golden fixtures", () => {
  for (const name of STREAMS) {
    test(`${name}: whole, byte by byte and in random splits`, async () => {
      const input = fixture(`${name}.sse`);
      const expected = readFileSync(join(FIXTURES, `${name}.anthropic.sse`), "utf8");
      assert.equal(await translate(input), expected);
      const every = Array.from({ length: input.length }, (_, i) => i);
      assert.equal(await translate(input, every), expected);
      const rnd = prng(name.length * 7919);
      for (let round = 0; round < 25; round++) {
        const cuts = Array.from(
          { length: 1 + Math.floor(rnd() * 12) },
          () => Math.floor(rnd() * input.length),
        ).sort((a, b) => a - b);
        assert.equal(await translate(input, cuts), expected, `cuts ${cuts.join(",")}`);
      }
    });
  }

  test("CRLF line ends give the same output", async () => {
    const lf = fixture("tools.sse");
    const crlf = new TextEncoder().encode(new TextDecoder().decode(lf).replace(/\n/g, "\r\n"));
    const expected = await translate(lf);
    assert.equal(await translate(crlf), expected);
    // A cut between every CR and its LF.
    const cuts: number[] = [];
    crlf.forEach((b, i) => b === 13 && cuts.push(i + 1));
    assert.equal(await translate(crlf, cuts), expected);
  });

  test("the translated streams accumulate into the expected messages", async () => {
    const tools = accumulate(await translate(fixture("tools.sse")));
    assert.equal(tools.stop, "tool_use");
    assert.deepEqual(tools.blocks, [
      { type: "text", text: "Let me look." },
      {
        type: "tool_use",
        id: "toolu_call_Rd8uPz1",
        name: "Read",
        input: { file_path: "/tmp/é.txt" },
      },
      {
        type: "tool_use",
        id: "toolu_call_Bs7kQ2",
        name: "Bash",
        input: { command: "ls -la", description: "List" },
      },
    ]);
    const inter = accumulate(await translate(fixture("interleaved_tools.sse")));
    assert.deepEqual(
      inter.blocks.map((b) => [b.name, b.input]),
      [["Glob", { pattern: "**/*.ts" }], ["Grep", { pattern: "TODO", path: "src" }], [
        "TodoWrite",
        {},
      ]],
    );
    const reasoning = accumulate(await translate(fixture("reasoning.sse")));
    assert.deepEqual(reasoning.blocks, [
      { type: "thinking", thinking: "The user wants 2+2. That is 4.", signature: "" },
      { type: "text", text: "2 + 2 = 4." },
    ]);
    const err = accumulate(await translate(fixture("error.sse")));
    assert.equal(err.events.at(-1), "error");
    assert.ok(!err.events.includes("message_stop"));
  });
});

describe("translateStream edge cases", () => {
  test("an upstream that sends nothing ends with an error event", async () => {
    const out = await translate(new Uint8Array());
    assert.match(out, /^event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
  });

  test("a broken upstream connection ends with an error event", async () => {
    const bytes = fixture("text.sse").slice(0, 700);
    let sent = false;
    const upstream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(bytes);
        } else controller.error(new Error("socket hang up"));
      },
    });
    const out = await new Response(translateStream(upstream, OPTS)).text();
    const acc = accumulate(out);
    assert.equal(acc.events[0], "message_start");
    assert.equal(acc.events.at(-1), "error");
    assert.match(out, /socket hang up/);
  });

  test("a mid-stream rate-limit error keeps its type", async () => {
    const body = 'data: {"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n' +
      'data: {"error":{"message":"Rate limit reached","type":"rate_limit_exceeded","code":429}}\n\n';
    const out = await translate(new TextEncoder().encode(body));
    assert.match(out, /"type":"rate_limit_error","message":"Rate limit reached"/);
  });

  test("a tool call whose name arrives late still starts with its name", async () => {
    const body = [
      '{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"arguments":"{\\"a\\""}}]}}]}',
      '{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"Late","arguments":":1}"}}]}}]}',
      '{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
    ].map((d) => `data: ${d}\n\n`).join("");
    const acc = accumulate(await translate(new TextEncoder().encode(body)));
    assert.deepEqual(acc.blocks, [{
      type: "tool_use",
      id: "toolu_call_1",
      name: "Late",
      input: { a: 1 },
    }]);
  });

  test("calls that all say index 0 but carry different ids stay separate", async () => {
    const call = (id: string, name: string, args: string) =>
      `{"id":"g","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"${id}",` +
      `"type":"function","function":{"name":"${name}","arguments":${JSON.stringify(args)}}}]}}]}`;
    const body = [
      call("call_a", "Read", '{"file_path":"/a"}'),
      call("call_b", "Read", '{"file_path":"/b"}'),
      '{"id":"g","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"done"}]},' +
      '"finish_reason":"tool_calls"}]}',
    ].map((d) => `data: ${d}\n\n`).join("");
    const acc = accumulate(await translate(new TextEncoder().encode(body)));
    assert.deepEqual(acc.blocks, [
      { type: "tool_use", id: "toolu_call_a", name: "Read", input: { file_path: "/a" } },
      { type: "tool_use", id: "toolu_call_b", name: "Read", input: { file_path: "/b" } },
      { type: "text", text: "done" },
    ]);
    assert.equal(acc.stop, "tool_use");
  });

  test("cancelling the output cancels the upstream", async () => {
    let cancelled: unknown = "not cancelled";
    const first = fixture("text.sse").slice(0, 600);
    let sent = false;
    const upstream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(first);
        }
        // then never delivers more, like a stalled provider
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = translateStream(upstream, OPTS).getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /message_start/);
    await reader.cancel("client gone");
    assert.equal(cancelled, "client gone");
  });
});

describe("SseParser", () => {
  function parseAll(chunks: Uint8Array[]): [string, string][] {
    const got: [string, string][] = [];
    const p = new SseParser((data, event) => got.push([event, data]));
    for (const c of chunks) p.push(c);
    p.end();
    return got;
  }

  test("keeps a multi-byte character whole across chunks", () => {
    const bytes = new TextEncoder().encode("data: 👋🏽 é 你\n\n");
    const one = bytes.slice(0, 8); // inside the first emoji
    const two = bytes.slice(8);
    assert.deepEqual(parseAll([one, two]), [["", "👋🏽 é 你"]]);
    const each = Array.from(bytes, (b) => new Uint8Array([b]));
    assert.deepEqual(parseAll(each), [["", "👋🏽 é 你"]]);
  });

  test("handles comments, event names, multi-line data, CR ends and an unterminated tail", () => {
    const text = ": ping\r\nevent: error\rdata: a\rdata: b\r\rdata:c\n\ndata: tail";
    assert.deepEqual(parseAll([new TextEncoder().encode(text)]), [
      ["error", "a\nb"],
      ["", "c"],
      ["", "tail"],
    ]);
  });
});
