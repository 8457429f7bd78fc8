// relayRawBody (the Node path: the upstream body read straight from node:http) gives exactly
// the golden output of relayStream, with backpressure, an upstream failure, data after the end
// of the message (drained, not cut) and a client that cancels.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ChatStreamOptions, ChatStreamTranslator } from "../src/translate/stream.ts";
import { relayRawBody } from "../src/translate/relay.ts";
import { ResponsesStreamTranslator } from "../src/translate/responses/stream.ts";
import { CODEX_STREAMS, codexFixture, codexGolden, codexOpts } from "./helpers/codex_fixtures.ts";
import type { RawBody, RawBodyHandlers } from "../src/runtime/http_client.ts";

const FIXTURES = join(import.meta.dirname ?? ".", "fixtures", "openai");
const STREAMS = ["text", "tools", "interleaved_tools", "reasoning", "length", "error", "truncated"];
const OPTS = { model: "test-model", inputTokens: 100 };

function translateRawStream(raw: RawBody, opts: ChatStreamOptions) {
  return relayRawBody(raw, new ChatStreamTranslator(opts));
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

describe("relayRawBody with the Chat translator", () => {
  for (const name of STREAMS) {
    test(`${name}: golden output in any chunking`, async () => {
      const input = new Uint8Array(readFileSync(join(FIXTURES, `${name}.sse`)));
      const expected = readFileSync(join(FIXTURES, `${name}.anthropic.sse`), "utf8");
      for (const size of [input.length, 1, 7, 64]) {
        const raw = new FakeRaw(split(input, size));
        const out = await new Response(translateRawStream(raw, OPTS)).text();
        assert.equal(out, expected, `chunks of ${size}`);
      }
    });
  }

  test("an unread stream pauses the upstream; reading resumes it and gets every byte", async () => {
    const input = new Uint8Array(readFileSync(join(FIXTURES, "tools.sse")));
    const expected = readFileSync(join(FIXTURES, "tools.anthropic.sse"), "utf8");
    const raw = new FakeRaw(split(input, 40));
    const stream = translateRawStream(raw, OPTS);
    await new Promise((res) => setTimeout(res, 0));
    assert.equal(raw.paused, true, "nobody reads: the upstream is paused");
    assert.equal(await new Response(stream).text(), expected);
    assert.ok(raw.pauses >= 1);
  });

  test("a broken upstream ends with an error event; data after [DONE] is drained, not cut", async () => {
    const enc = new TextEncoder();
    const head = enc.encode(
      'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n',
    );
    const broken = new FakeRaw([head], new Error("socket hang up"));
    const out = await new Response(translateRawStream(broken, OPTS)).text();
    assert.match(
      out,
      /text_delta[\s\S]*event: error\n.*upstream connection failed: socket hang up/,
    );

    const done = new FakeRaw([head, enc.encode("data: [DONE]\n\n"), enc.encode(": trailing\n\n")]);
    const text = await new Response(translateRawStream(done, OPTS)).text();
    assert.match(text, /event: message_stop/);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(done.cancelled, false, "the upstream ran to its end");
  });

  test("a client that cancels cancels the upstream", async () => {
    const input = new Uint8Array(readFileSync(join(FIXTURES, "text.sse")));
    const raw = new FakeRaw(split(input, 3));
    const reader = translateRawStream(raw, OPTS).getReader();
    await reader.read();
    await reader.cancel();
    assert.equal(raw.cancelled, true);
  });

  test("the Responses translator runs on it too, with its golden output", async () => {
    for (const name of CODEX_STREAMS) {
      const input = codexFixture(name);
      for (const size of [input.length, 1, 64]) {
        const raw = new FakeRaw(split(input, size));
        const t = new ResponsesStreamTranslator(codexOpts());
        const out = await new Response(relayRawBody(raw, t)).text();
        assert.equal(out, codexGolden(name), `${name} in chunks of ${size}`);
      }
    }
  });
});
