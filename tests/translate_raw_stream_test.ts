// relayTransform over a raw body (the Node path: the upstream body read straight from node:http,
// the answer a raw body written straight to the client's socket, no web stream on either side)
// gives exactly the golden output, with backpressure, an upstream failure, data after the end of
// the message (drained, not cut), a client that cancels, and a failure before the first byte.
import { describe, test } from "node:test";
import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ChatStreamOptions, ChatStreamTranslator } from "../src/translate/stream.ts";
import { relayTransform } from "../src/proxy/relay.ts";
import type { ChunkTransform } from "../src/translate/chunk_transform.ts";
import { ResponsesStreamTranslator } from "../src/translate/responses/stream.ts";
import { CODEX_STREAMS, codexFixture, codexGolden, codexOpts } from "./helpers/codex_fixtures.ts";
import {
  type RawBody,
  type RawBodyHandlers,
  rawResponse,
  takeRawBody,
} from "../src/runtime/http_client.ts";

const FIXTURES = join(import.meta.dirname ?? ".", "fixtures", "openai");
const STREAMS = ["text", "tools", "interleaved_tools", "reasoning", "length", "error", "truncated"];
const OPTS = { model: "test-model", inputTokens: 100 };

/** The relay's 200 answer over `raw` (failing the test on a failure): a raw body again. */
async function relayRaw(raw: RawBody, t: ChunkTransform): Promise<RawBody> {
  const outcome = await relayTransform(rawResponse(200, new Headers(), raw), t, new Headers());
  if (!("response" in outcome)) throw new Error(`failure: ${JSON.stringify(outcome.failure)}`);
  assert.equal(outcome.response.status, 200);
  const out = takeRawBody(outcome.response);
  assert.ok(out, "the answer is a raw body, not a web stream");
  return out;
}

function translateRawStream(raw: RawBody, opts: ChatStreamOptions): Promise<RawBody> {
  return relayRaw(raw, new ChatStreamTranslator(opts));
}

/** Reads a raw body to its end (as runtime/serve.ts writes it to a socket). */
function text(body: RawBody): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    body.start({
      data: (c) => chunks.push(c),
      end: () => resolve(new TextDecoder().decode(Buffer.concat(chunks))),
      error: reject,
    });
  });
}

/**
 * A RawBody that delivers `pieces` synchronously while not paused (as node:http does with
 * buffered data), continuing when resumed, then ends (or fails).
 */
class FakeRaw implements RawBody {
  paused = false;
  cancelled = false;
  pauses = 0;
  #h?: RawBodyHandlers;
  #i = 0;
  #running = false;
  constructor(readonly pieces: Uint8Array[], readonly failWith?: Error) {}
  start(h: RawBodyHandlers): void {
    this.#h = h;
    this.#flow();
  }
  pause(): void {
    if (!this.paused) this.pauses++;
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.#flow();
  }
  cancel(): void {
    this.cancelled = true;
  }
  #flow(): void {
    if (this.#running || !this.#h) return;
    this.#running = true;
    while (!this.cancelled && !this.paused && this.#i <= this.pieces.length) {
      if (this.#i < this.pieces.length) this.#h.data(this.pieces[this.#i++]);
      else {
        this.#i++;
        if (this.failWith) this.#h.error(this.failWith);
        else this.#h.end();
      }
    }
    this.#running = false;
  }
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

describe("relayTransform over a raw body with the Chat translator", () => {
  for (const name of STREAMS) {
    test(`${name}: golden output in any chunking`, async () => {
      const input = new Uint8Array(readFileSync(join(FIXTURES, `${name}.sse`)));
      const expected = readFileSync(join(FIXTURES, `${name}.anthropic.sse`), "utf8");
      for (const size of [input.length, 1, 7, 64]) {
        const raw = new FakeRaw(split(input, size));
        const out = await text(await translateRawStream(raw, OPTS));
        assert.equal(out, expected, `chunks of ${size}`);
      }
    });
  }

  test("an unread stream pauses the upstream; reading resumes it and gets every byte", async () => {
    const input = new Uint8Array(readFileSync(join(FIXTURES, "tools.sse")));
    const expected = readFileSync(join(FIXTURES, "tools.anthropic.sse"), "utf8");
    const raw = new FakeRaw(split(input, 40));
    const body = await translateRawStream(raw, OPTS);
    await new Promise((res) => setTimeout(res, 0));
    assert.equal(raw.paused, true, "nobody reads: the upstream is paused");
    // The client's socket is full after the first chunk: the upstream is paused until resumed.
    const chunks: Uint8Array[] = [];
    const ended = new Promise<void>((resolve) => {
      body.start({
        data(c) {
          chunks.push(c);
          body.pause();
          setTimeout(() => body.resume(), 0);
        },
        end: resolve,
        error: (e) => assert.fail(e),
      });
    });
    await ended;
    assert.equal(new TextDecoder().decode(Buffer.concat(chunks)), expected);
    assert.ok(raw.pauses >= 3, `paused ${raw.pauses} times`);
  });

  test("a broken upstream ends with an error event; data after [DONE] is drained, not cut", async () => {
    const enc = new TextEncoder();
    const head = enc.encode(
      'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n',
    );
    const broken = new FakeRaw([head], new Error("socket hang up"));
    const out = await text(await translateRawStream(broken, OPTS));
    assert.match(
      out,
      /text_delta[\s\S]*event: error\n.*upstream connection failed: socket hang up/,
    );

    const done = new FakeRaw([head, enc.encode("data: [DONE]\n\n"), enc.encode(": trailing\n\n")]);
    const all = await text(await translateRawStream(done, OPTS));
    assert.match(all, /event: message_stop/);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(done.cancelled, false, "the upstream ran to its end");
  });

  test("a client that cancels cancels the upstream", async () => {
    const input = new Uint8Array(readFileSync(join(FIXTURES, "text.sse")));
    const raw = new FakeRaw(split(input, 3));
    const body = await translateRawStream(raw, OPTS);
    body.start({ data: () => body.cancel(), end() {}, error() {} });
    assert.equal(raw.cancelled, true);
  });

  test("the Responses translator runs on it too, with its golden output", async () => {
    for (const name of CODEX_STREAMS) {
      const input = codexFixture(name);
      for (const size of [input.length, 1, 64]) {
        const raw = new FakeRaw(split(input, size));
        const t = new ResponsesStreamTranslator(codexOpts());
        const outcome = await relayTransform(
          rawResponse(200, new Headers(), raw),
          t,
          new Headers(),
        );
        const out = "response" in outcome ? await text(takeRawBody(outcome.response)!) : "";
        assert.equal(out, codexGolden(name), `${name} in chunks of ${size}`);
      }
    }
  });

  test("an error chunk first is the failure, nothing answered; the upstream is cancelled", async () => {
    const enc = new TextEncoder();
    const raw = new FakeRaw([
      enc.encode('data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'),
      enc.encode('data: {"error":{"message":"overloaded","type":"overloaded_error"}}\n\n'),
      enc.encode("data: [DONE]\n\n"),
    ]);
    const t = new ChatStreamTranslator(OPTS);
    const outcome = await relayTransform(rawResponse(200, new Headers(), raw), t, new Headers());
    assert.ok("failure" in outcome);
    assert.equal(outcome.failure.status, 529);
    assert.equal(outcome.failure.type, "overloaded_error");
    assert.equal(raw.cancelled, true);
  });
});
