// Which upstream family issued a thinking block's signature. A signature is only valid where
// it came from (Anthropic answers `Invalid signature in thinking block`, OpenAI
// `invalid_encrypted_content`), so before a request is sent each upstream keeps only its own
// family's thinking blocks and a conversation can fail over between families.
//
// How a family is recognised:
//  - "<family>:<payload>" — what ccmux itself issues for non-Anthropic reasoning, e.g.
//    "openai:gAAAAB…" for a Responses API item's encrypted_content. Anthropic signatures are
//    base64, which never contains ":", so the prefix cannot be mistaken for one.
//  - "gAAAA…" without a prefix — OpenAI's encrypted reasoning (a Fernet token: version byte
//    0x80, then a big-endian timestamp) as other proxies pass it on: "openai".
//  - "" or not a string — "unsigned" (OpenAI-compatible Chat providers' reasoning): no
//    upstream accepts it back as thinking.
//  - anything else — "anthropic".
// redacted_thinking blocks (`data`, no signature) are Anthropic's.

import type { AnthropicBlock, AnthropicMessageParam } from "./types.ts";

/** "anthropic", "openai", "unsigned", or the tag of a prefixed signature. */
export type SignatureFamily = string;

const PREFIXED = /^([a-z][a-z0-9-]{0,31}):/;
const OPENAI_PREFIX = "openai:";

export function signatureFamily(signature: unknown): SignatureFamily {
  if (typeof signature !== "string" || signature === "") return "unsigned";
  const m = PREFIXED.exec(signature);
  if (m) return m[1];
  if (signature.startsWith("gAAAA")) return "openai";
  return "anthropic";
}

/** The signature ccmux gives a thinking block that carries OpenAI encrypted reasoning. */
export function openaiSignature(encryptedContent: string): string {
  return OPENAI_PREFIX + encryptedContent;
}

/** The encrypted reasoning inside an OpenAI-family signature; undefined for other families. */
export function openaiEncryptedContent(signature: unknown): string | undefined {
  if (signatureFamily(signature) !== "openai") return undefined;
  const s = signature as string;
  return s.startsWith(OPENAI_PREFIX) ? s.slice(OPENAI_PREFIX.length) : s;
}

/** The family of a thinking or redacted_thinking block; undefined for other blocks. */
export function thinkingFamily(block: AnthropicBlock): SignatureFamily | undefined {
  if (block.type === "redacted_thinking") return "anthropic";
  if (block.type === "thinking") return signatureFamily(block.signature);
  return undefined;
}

/**
 * `messages` with the thinking blocks of other families than `family` removed (the input
 * itself when there is nothing to remove; nothing is mutated).
 */
export function keepOwnThinking(
  messages: AnthropicMessageParam[],
  family: SignatureFamily,
): AnthropicMessageParam[] {
  let out: AnthropicMessageParam[] | undefined;
  messages.forEach((m, i) => {
    if (m?.role !== "assistant" || !Array.isArray(m.content)) return;
    const drop = (b: AnthropicBlock) => {
      const f = b && typeof b === "object" ? thinkingFamily(b) : undefined;
      return f !== undefined && f !== family;
    };
    if (!m.content.some(drop)) return;
    out ??= messages.slice();
    out[i] = { ...m, content: m.content.filter((b) => !drop(b)) };
  });
  return out ?? messages;
}
