// Reads Anthropic SSE text back into blocks, checking the event order a client relies on as it
// goes (one block open at a time, indexes in order, nothing after message_stop or error).
import assert from "node:assert/strict";

export interface Block {
  type: string;
  text?: string;
  thinking?: string;
  signature?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

export interface Accumulated {
  blocks: Block[];
  stop?: string;
  usage?: Record<string, number>;
  /** message_start's message (id, model, usage). */
  start?: Record<string, unknown>;
  error?: { type: string; message: string };
  events: string[];
}

export function accumulate(sse: string): Accumulated {
  const acc: Accumulated = { blocks: [], events: [] };
  const json: string[] = [];
  let open = -1;
  let ended = false;
  for (const raw of sse.split("\n\n")) {
    if (!raw) continue;
    assert.ok(!ended, "an event after message_stop or error");
    const [eventLine, dataLine, extra] = raw.split("\n");
    assert.equal(extra, undefined, "one data line per event");
    const type = eventLine.slice("event: ".length);
    const data = JSON.parse(dataLine.slice("data: ".length));
    assert.equal(data.type, type);
    acc.events.push(type);
    switch (type) {
      case "message_start":
        assert.equal(acc.events.length, 1, "message_start comes first");
        acc.start = data.message;
        break;
      case "content_block_start":
        assert.equal(open, -1, "a block starts while another is open");
        assert.equal(data.index, acc.blocks.length);
        open = data.index;
        acc.blocks.push({ ...data.content_block });
        json[open] = "";
        break;
      case "content_block_delta": {
        assert.equal(data.index, open);
        const b = acc.blocks[open];
        const d = data.delta;
        if (d.type === "text_delta") b.text += d.text;
        else if (d.type === "thinking_delta") b.thinking += d.thinking;
        else if (d.type === "signature_delta") b.signature = d.signature;
        else if (d.type === "input_json_delta") json[open] += d.partial_json;
        else assert.fail(`unknown delta ${d.type}`);
        break;
      }
      case "content_block_stop": {
        assert.equal(data.index, open);
        const b = acc.blocks[open];
        if (b.type === "tool_use") b.input = json[open] ? JSON.parse(json[open]) : {};
        open = -1;
        break;
      }
      case "message_delta":
        assert.equal(open, -1, "message_delta while a block is open");
        acc.stop = data.delta.stop_reason;
        acc.usage = data.usage;
        break;
      case "message_stop":
        ended = true;
        break;
      case "error":
        acc.error = data.error;
        ended = true;
        break;
      default:
        assert.fail(`unknown event ${type}`);
    }
  }
  return acc;
}

/** A small deterministic PRNG so a failing split can be reproduced. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

/** `bytes` cut at the given offsets (sorted, duplicates and out-of-range ignored). */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    if (c > prev && c <= bytes.length) {
      pieces.push(bytes.slice(prev, c));
      prev = c;
    }
  }
  return pieces;
}

/** Random cut offsets for round `n` of a split test. */
export function randomCuts(rnd: () => number, length: number): number[] {
  return Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => Math.floor(rnd() * length))
    .sort((a, b) => a - b);
}
