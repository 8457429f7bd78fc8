// OpenAI SSE → Anthropic SSE (translateStream, the library's web stream form of
// ChatStreamTranslator): recorded-shape streams against golden output, fed whole, byte by byte and
// in random splits; SSE parsing edge cases; broken and empty upstreams; cancellation; failures
// before the first byte reported, not written (and their status mapping); the proxy's relay
// (relayTransform) over a web stream running the Responses translator.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ChatStreamTranslator, translateStream } from "../src/translate/stream.ts";
import { relayTransform } from "../src/proxy/relay.ts";
import { failureOf } from "../src/translate/failure.ts";
import type { ChunkTransform } from "../src/translate/chunk_transform.ts";
import { ResponsesStreamTranslator } from "../src/translate/responses/stream.ts";
import { accumulate, prng, randomCuts, splitAt } from "./helpers/anthropic_sse.ts";
import { CODEX_STREAMS, codexFixture, codexGolden, codexOpts } from "./helpers/codex_fixtures.ts";
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
  const pieces = splitAt(bytes, cuts);
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

describe("Chat stream golden fixtures", () => {
  for (const name of STREAMS) {
    test(`${name}: whole, byte by byte and in random splits`, async () => {
      const input = fixture(`${name}.sse`);
      const expected = readFileSync(join(FIXTURES, `${name}.anthropic.sse`), "utf8");
      assert.equal(await translate(input), expected);
      const every = Array.from({ length: input.length }, (_, i) => i);
      assert.equal(await translate(input, every), expected);
      const rnd = prng(name.length * 7919);
      for (let round = 0; round < 25; round++) {
        const cuts = randomCuts(rnd, input.length);
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

describe("Chat stream edge cases", () => {
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

  test("an error chunk before any content is the error event alone (no message_start)", async () => {
    const body = 'data: {"id":"x","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n' +
      'data: {"error":{"message":"Rate limit reached","code":429}}\n\n';
    const out = await translate(new TextEncoder().encode(body));
    assert.equal(
      out,
      'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error",' +
        '"message":"Rate limit reached"}}\n\n',
    );
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

describe("ChatStreamTranslator: failures before the first byte", () => {
  const enc = new TextEncoder();
  const ROLE = 'data: {"id":"x","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n';

  test("an error chunk first: nothing written, the failure to answer with", () => {
    const t = new ChatStreamTranslator(OPTS);
    const out = t.push(enc.encode(
      ROLE +
        'data: {"error":{"message":"Rate limit reached","type":"rate_limit_exceeded",' +
        '"code":"rate_limit_exceeded"}}\n\ndata: [DONE]\n\n',
    ));
    assert.equal(out + t.end(), "");
    assert.equal(t.done, true);
    assert.equal(t.committed, false);
    assert.deepEqual(t.failure, {
      status: 429,
      type: "rate_limit_error",
      message: "Rate limit reached",
      code: "rate_limit_exceeded",
    });
  });

  test("an end or a break with nothing said is a 502 failure; an empty finished answer is not", () => {
    const ended = new ChatStreamTranslator(OPTS);
    assert.equal(ended.push(enc.encode(ROLE)) + ended.end(), "");
    assert.equal(ended.failure?.status, 502);
    assert.match(ended.failure!.message, /ended the stream without a response/);

    const broken = new ChatStreamTranslator(OPTS);
    assert.equal(broken.push(enc.encode(ROLE)) + broken.error(new Error("socket hang up")), "");
    assert.equal(broken.failure?.status, 502);
    assert.match(broken.failure!.message, /upstream connection failed: socket hang up/);

    const empty = new ChatStreamTranslator(OPTS);
    const out = empty.push(enc.encode(
      ROLE + 'data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    )) + empty.end();
    assert.equal(empty.failure, undefined);
    assert.equal(accumulate(out).events.at(-1), "message_stop");
  });

  test("after the first byte a failure is an error event, and no failure to answer", () => {
    const t = new ChatStreamTranslator(OPTS);
    let out = t.push(
      enc.encode('data: {"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'),
    );
    out += t.push(enc.encode('data: {"error":{"message":"busy","type":"server_error"}}\n\n'));
    assert.equal(t.failure, undefined);
    assert.equal(t.done, true);
    assert.match(
      out,
      /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"busy"\}\}/,
    );
  });

  test("error chunk codes and types map to the status the client and the dispatcher need", () => {
    const cases: [unknown, number, string][] = [
      [
        { message: "m", type: "rate_limit_exceeded", code: "rate_limit_exceeded" },
        429,
        "rate_limit_error",
      ],
      [{ message: "m", type: "requests", code: "rate_limit_exceeded" }, 429, "rate_limit_error"],
      [
        { message: "m", type: "insufficient_quota", code: "insufficient_quota" },
        429,
        "rate_limit_error",
      ],
      [{ message: "m", code: 429 }, 429, "rate_limit_error"],
      [{ message: "m", type: "server_error", code: null }, 502, "api_error"],
      [{ message: "m", code: 500 }, 500, "api_error"],
      [{ message: "m", type: "overloaded_error" }, 529, "overloaded_error"],
      [{ message: "m", code: "503" }, 503, "overloaded_error"],
      [
        { message: "m", type: "invalid_request_error", code: "context_length_exceeded" },
        400,
        "invalid_request_error",
      ],
      [{ message: "m", type: "invalid_request_error" }, 400, "invalid_request_error"],
      [
        { message: "m", object: "error", type: "BadRequestError", code: 400 },
        400,
        "invalid_request_error",
      ],
      [
        { message: "m", type: "invalid_request_error", code: "model_not_found" },
        404,
        "not_found_error",
      ],
      [{ message: "m", type: "authentication_error" }, 401, "authentication_error"],
      [{ message: "m" }, 502, "api_error"],
      ["a bare string", 502, "api_error"],
    ];
    for (const [error, status, type] of cases) {
      const f = failureOf(error);
      assert.equal(f.status, status, JSON.stringify(error));
      assert.equal(f.type, type, JSON.stringify(error));
    }
    assert.equal(failureOf("a bare string").message, "a bare string");
    assert.match(
      failureOf({ message: "maximum context length is 8192", code: "context_length_exceeded" })
        .message,
      /^prompt is too long: maximum context length/,
    );
  });
});

/** The proxy's relay over a web stream body: the 200 stream's text, or "" and the failure. */
async function relayed(body: ReadableStream<Uint8Array>, t: ChunkTransform): Promise<string> {
  const outcome = await relayTransform(new Response(body), t, new Headers());
  if (!("response" in outcome)) {
    assert.ok(outcome.failure.status >= 400);
    return "";
  }
  assert.equal(outcome.response.status, 200);
  return await outcome.response.text();
}

describe("relayTransform over a web stream runs any ChunkTransform", () => {
  test("the Chat translator gives its golden output in random splits", async () => {
    for (const name of STREAMS) {
      const input = fixture(`${name}.sse`);
      const expected = readFileSync(join(FIXTURES, `${name}.anthropic.sse`), "utf8");
      const rnd = prng(name.length * 13);
      for (const cuts of [[], randomCuts(rnd, input.length), randomCuts(rnd, input.length)]) {
        const t = new ChatStreamTranslator(OPTS);
        assert.equal(await relayed(streamOf(input, cuts), t), expected, name);
      }
    }
  });

  test("the Responses translator gives its golden output, whole and in random splits", async () => {
    for (const name of CODEX_STREAMS) {
      const input = codexFixture(name);
      const run = async (cuts: number[]) =>
        await relayed(streamOf(input, cuts), new ResponsesStreamTranslator(codexOpts()));
      assert.equal(await run([]), codexGolden(name), name);
      const rnd = prng(name.length * 31);
      for (let round = 0; round < 5; round++) {
        const cuts = randomCuts(rnd, input.length);
        assert.equal(await run(cuts), codexGolden(name), `${name}, cuts ${cuts.join(",")}`);
      }
    }
  });

  test("an error chunk first is the failure; the upstream is cancelled", async () => {
    let cancelled = false;
    const bytes = new TextEncoder().encode(
      'data: {"error":{"message":"Rate limit reached","type":"rate_limit_exceeded",' +
        '"code":"rate_limit_exceeded"}}\n\n',
    );
    let sent = false;
    const upstream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (!sent) {
          sent = true;
          c.enqueue(bytes);
        } // then silent, like a provider that keeps the connection open
      },
      cancel() {
        cancelled = true;
      },
    });
    const outcome = await relayTransform(
      new Response(upstream),
      new ChatStreamTranslator(OPTS),
      new Headers(),
    );
    assert.ok("failure" in outcome);
    assert.equal(outcome.failure.status, 429);
    assert.equal(outcome.failure.type, "rate_limit_error");
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(cancelled, true);
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
