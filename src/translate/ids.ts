// Anthropic-shaped ids derived from the provider's ids. Derived, not invented, so that two
// upstream ids stay two different ids; sanitised because Anthropic accepts tool_use ids only
// of the form ^[a-zA-Z0-9_-]+$ (the conversation may fail over to an Anthropic upstream later).

const UNSAFE = /[^A-Za-z0-9_-]/g;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 24 random characters, for when the provider sends no id at all. */
export function randomIdPart(): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  let s = "";
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

function derive(prefix: string, upstream: unknown): string {
  if (typeof upstream !== "string" || upstream === "") return prefix + randomIdPart();
  const safe = upstream.replace(UNSAFE, "_");
  return safe.startsWith(prefix) ? safe : prefix + safe;
}

/** `msg_…` from a completion id such as `chatcmpl-abc` (→ `msg_chatcmpl-abc`). */
export function messageId(upstream: unknown): string {
  return derive("msg_", upstream);
}

/**
 * `toolu_…` from a tool call id such as `call_abc` (→ `toolu_call_abc`). `taken` holds the
 * ids already used in this message: providers that repeat or omit ids still yield unique ones.
 */
export function toolUseId(upstream: unknown, taken: Set<string>): string {
  let id = derive("toolu_", upstream);
  if (taken.has(id)) {
    let n = 2;
    while (taken.has(`${id}_${n}`)) n++;
    id = `${id}_${n}`;
  }
  taken.add(id);
  return id;
}
