// The JSON text of a translated Chat Completions body, reusing the text of the parts that
// equal parts sent before. Claude Code resends the same tools (~30 KB of a 50 KB request) and
// the same conversation prefix on every turn; JSON.stringify scans every character of every
// string for escapes, while comparing equal structures is mostly a memcmp of their strings
// (measured on the benchmark's 50 KB request: stringify 96 µs, comparison 24 µs).
//
// The output is JSON.stringify's text for the same body with the members in another order
// (the rest, then messages, then tools): equal values (same keys in the same order, equal
// scalars) have equal JSON text, so a reused text is exactly what a fresh stringify gives.
import type { OpenAIChatRequest } from "./types.ts";

interface Slot {
  value: unknown;
  json: string;
}

/** Tool lists remembered (main agent, subagents and background requests differ). */
const TOOL_SLOTS = 4;
/** Remembered messages per position in the conversation (two conversations interleaving). */
const MESSAGE_SLOTS = 2;
/** Positions remembered; later messages are serialised every time. */
const MAX_POSITIONS = 1024;
/** Total remembered JSON text (characters); past it the message memory starts over. */
const MAX_CHARS = 4 * 1024 * 1024;

/** Serialises Chat Completions bodies; one per adapter (it only ever holds past requests). */
export class ChatJsonWriter {
  #tools: Slot[] = [];
  #messages: Slot[][] = [];
  #chars = 0;

  /** The body as JSON text. */
  stringify(chat: OpenAIChatRequest): string {
    const { messages, tools, ...rest } = chat;
    const head = JSON.stringify(rest);
    let s = head.length > 2 ? head.slice(0, -1) + "," : "{";
    s += '"messages":[';
    for (let i = 0; i < messages.length; i++) {
      if (i > 0) s += ",";
      s += this.#message(i, messages[i]);
    }
    s += "]";
    if (tools !== undefined) s += ',"tools":' + this.#toolsJson(tools);
    return s + "}";
  }

  #toolsJson(tools: unknown): string {
    const slots = this.#tools;
    for (let i = 0; i < slots.length; i++) {
      if (deepEqual(slots[i].value, tools)) {
        const hit = slots[i];
        if (i > 0) {
          slots.splice(i, 1);
          slots.unshift(hit);
        }
        return hit.json;
      }
    }
    const json = JSON.stringify(tools);
    slots.unshift({ value: tools, json });
    if (slots.length > TOOL_SLOTS) slots.pop();
    return json;
  }

  #message(index: number, message: unknown): string {
    if (index >= MAX_POSITIONS) return JSON.stringify(message);
    const slots = this.#messages[index];
    if (slots) {
      for (const slot of slots) if (deepEqual(slot.value, message)) return slot.json;
    }
    const json = JSON.stringify(message);
    if (json.length > MAX_CHARS / 8) return json;
    if (this.#chars + json.length > MAX_CHARS) {
      this.#messages = [];
      this.#chars = 0;
    }
    const mine = this.#messages[index] ??= [];
    mine.unshift({ value: message, json });
    this.#chars += json.length;
    if (mine.length > MESSAGE_SLOTS) this.#chars -= mine.pop()!.json.length;
    return json;
  }
}

/**
 * Structural equality of JSON-shaped values (plain objects, arrays, scalars): same keys in the
 * same order and equal values, so JSON.stringify gives both the same text. NaN never equals
 * (its text is "null" either way: a miss only costs a fresh stringify), nor does anything
 * nested deeper than 256 levels.
 */
export function deepEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (depth > 256) return false; // pathological nesting: serialise it afresh instead
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i];
    if (k !== kb[i]) return false;
    if (
      !deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1)
    ) {
      return false;
    }
  }
  return true;
}
