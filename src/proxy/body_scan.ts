// A structural scan of a JSON request body's bytes: where each top-level member's value starts
// and ends, without building the object. The Anthropic pass-through routes on a few small
// members (model, thinking, ...) and forwards the bytes, so parsing a 50–80 KB Claude Code
// body into objects (the largest CPU cost per request) is wasted work there.
//
// Structural characters are ASCII, so scanning bytes is UTF-8 safe: a multi-byte sequence
// never contains a byte below 0x80. Strings are skipped with native indexOf('"') plus a check
// of the backslash run before the quote.
//
// What is checked: a top-level object, `"key": value` members separated by commas, balanced
// brackets, closed strings, nothing after the object but whitespace. What is not: the inside of
// nested values (numbers, literals, commas and colons in arrays/objects), string escapes and
// control characters. Those are left to JSON.parse of the members that are parsed, and to the
// upstream for the rest.
import { Buffer } from "node:buffer";

/** The byte range [start, end) of one top-level member's value. */
export interface Range {
  start: number;
  end: number;
}

/** The top-level members of a scanned body. */
export interface ScannedBody {
  /** Value ranges by key (decoded key text). */
  members: Map<string, Range>;
  /** True when a key occurs more than once (JSON.parse keeps the last; callers may bail out). */
  duplicateKeys: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The index just past the string whose opening quote is at `i`; -1 when it is not closed. */
function skipString(buf: Buffer, i: number): number {
  // Most strings in a request (keys, schema words) are short: a plain loop beats a native
  // call per string. Long text (prompts, file contents) goes to indexOf.
  const n = buf.length;
  const stop = Math.min(n, i + 48);
  let k = i + 1;
  for (; k < stop; k++) {
    const b = buf[k];
    if (b === QUOTE) return k + 1;
    if (b === BACKSLASH) k++;
  }
  if (k >= n) return -1;
  let at = k;
  for (;;) {
    const q = buf.indexOf(QUOTE, at);
    if (q === -1) return -1;
    // The quote is escaped when an odd number of backslashes precedes it.
    let m = 0;
    for (let j = q - 1; j > i && buf[j] === BACKSLASH; j--) m++;
    if ((m & 1) === 0) return q + 1;
    at = q + 1;
  }
}

/**
 * The index just past the value starting at `i` (no leading whitespace), or -1 when it is
 * malformed (unbalanced, unclosed string, empty). Scalars end at the first `,` `}` `]` or
 * whitespace.
 */
function skipValue(buf: Buffer, i: number, n: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
    // Brackets must match by kind: a stack of expected closers, as bits (1 = '}').
    const stack: number[] = [];
    for (let k = i; k < n; k++) {
      const b = buf[k];
      if (b === QUOTE) {
        k = skipString(buf, k);
        if (k === -1) return -1;
        k--;
      } else if (b === 0x7b) stack.push(0x7d);
      else if (b === 0x5b) stack.push(0x5d);
      else if (b === 0x7d || b === 0x5d) {
        if (stack.pop() !== b) return -1;
        if (stack.length === 0) return k + 1;
      }
    }
    return -1;
  }
  let k = i;
  while (k < n) {
    const b = buf[k];
    if (
      b === 0x2c || b === 0x7d || b === 0x5d || isWs(b) || b === QUOTE || b === 0x7b ||
      b === 0x5b || b === 0x3a
    ) break;
    k++;
  }
  return k === i ? -1 : k;
}

/**
 * Scans `bytes` as a JSON object and returns its top-level members' value ranges, or
 * undefined when the text is not a well-formed object by the checks above (callers then parse
 * it with JSON.parse, which gives the precise error).
 */
export function scanBody(bytes: Uint8Array): ScannedBody | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.length;
  let i = 0;
  while (i < n && isWs(buf[i])) i++;
  if (buf[i] !== 0x7b) return undefined;
  i++;
  const members = new Map<string, Range>();
  let duplicateKeys = false;
  let first = true;
  for (;;) {
    while (i < n && isWs(buf[i])) i++;
    if (buf[i] === 0x7d) {
      if (!first) return undefined; // trailing comma
      i++;
      break;
    }
    if (buf[i] !== QUOTE) return undefined;
    const keyEnd = skipString(buf, i);
    if (keyEnd === -1) return undefined;
    const key = keyText(buf, i, keyEnd);
    if (key === undefined) return undefined;
    i = keyEnd;
    while (i < n && isWs(buf[i])) i++;
    if (buf[i] !== 0x3a /* : */) return undefined;
    i++;
    while (i < n && isWs(buf[i])) i++;
    const start = i;
    const end = skipValue(buf, i, n);
    if (end === -1) return undefined;
    if (members.has(key)) duplicateKeys = true;
    members.set(key, { start, end });
    i = end;
    first = false;
    while (i < n && isWs(buf[i])) i++;
    if (buf[i] === 0x2c /* , */) {
      i++;
      continue;
    }
    if (buf[i] === 0x7d) {
      i++;
      break;
    }
    return undefined;
  }
  while (i < n && isWs(buf[i])) i++;
  return i === n ? { members, duplicateKeys } : undefined;
}

/** The decoded text of the key string at [start, end) (quotes included); undefined if bad. */
function keyText(buf: Buffer, start: number, end: number): string | undefined {
  const esc = buf.indexOf(BACKSLASH, start);
  if (esc === -1 || esc >= end) return buf.toString("utf8", start + 1, end - 1);
  try {
    return JSON.parse(buf.toString("utf8", start, end));
  } catch {
    return undefined;
  }
}

/** JSON.parse of one member's value; throws SyntaxError when it is not valid JSON. */
export function parseRange(bytes: Uint8Array, r: Range): unknown {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return JSON.parse(buf.toString("utf8", r.start, r.end));
}

/** True when the bytes in `r` contain `needle` (an ASCII/UTF-8 byte string). */
export function rangeIncludes(bytes: Uint8Array, r: Range, needle: Uint8Array): boolean {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset + r.start, r.end - r.start);
  return buf.indexOf(needle) !== -1;
}

/** `bytes` with the range `r` replaced by `value`'s bytes (one copy, no re-serialisation). */
export function spliceRange(bytes: Uint8Array, r: Range, value: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(bytes.byteLength - (r.end - r.start) + value.byteLength);
  out.set(bytes.subarray(0, r.start), 0);
  out.set(value, r.start);
  out.set(bytes.subarray(r.end), r.start + value.byteLength);
  return out;
}

/**
 * True when the JSON text in `bytes` nests arrays and objects more than `limit` levels deep
 * (strings skipped). One pass, no recursion: it guards the code that walks or re-serialises a
 * parsed body (recursively, as JSON.stringify does) against a stack overflow.
 */
export function nestedDeeperThan(bytes: Uint8Array, limit: number): boolean {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      const end = skipString(buf, i);
      if (end === -1) return false;
      i = end - 1;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
