// Anthropic upstreams receive only Anthropic thinking blocks. A conversation that went through
// another family (a Codex answer's thinking block is signed "openai:<encrypted reasoning>")
// would otherwise get `400 … Invalid \`signature\` in \`thinking\` block`. The pass-through
// keeps its byte-exact body: only when the raw bytes contain a foreign signature's marker is the
// body parsed, filtered and re-serialised (a cheap byte search; a false alarm costs a parse
// and changes nothing).
import { Buffer } from "node:buffer";
import { keepOwnThinking } from "../translate/signature.ts";
import type { AnthropicBlock, AnthropicMessageParam } from "../translate/types.ts";

type Obj = Record<string, unknown>;

/**
 * The start of a JSON string holding an OpenAI-family signature (prefixed, or a bare Fernet),
 * searched without its opening quote: `"` is the commonest byte of JSON, so a needle starting
 * with it makes the search stop at nearly every string; the quote is checked at each hit.
 */
const MARKERS = [Buffer.from("openai:"), Buffer.from("gAAAA")];
const QUOTE = 0x22;

/** True when `raw` may hold a thinking block of another family than Anthropic's. */
export function mayHaveForeignThinking(raw: Uint8Array): boolean {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  for (const m of MARKERS) {
    for (let at = buf.indexOf(m); at !== -1; at = buf.indexOf(m, at + 1)) {
      if (at > 0 && buf[at - 1] === QUOTE) return true;
    }
  }
  return false;
}

/**
 * `body` without the thinking blocks of other families, or undefined when it has none.
 * When a dropped block leaves the conversation's last assistant turn without the thinking that
 * Anthropic requires at its start (with thinking on, in a tool-use loop), `thinking` is turned
 * off for this request, as Anthropic's error message advises.
 */
export function withoutForeignThinking(body: Obj): Obj | undefined {
  const messages = body.messages;
  if (!Array.isArray(messages)) return undefined;
  const kept = keepOwnThinking(messages as AnthropicMessageParam[], "anthropic");
  if (kept === messages) return undefined;
  const out: Obj = { ...body, messages: kept };
  const t = body.thinking as Obj | undefined;
  if (t && (t.type === "enabled" || t.type === "adaptive") && lastAssistantLostThinking(kept)) {
    delete out.thinking;
  }
  return out;
}

function isThinking(b: AnthropicBlock | undefined): boolean {
  return b?.type === "thinking" || b?.type === "redacted_thinking";
}

/** The last assistant message does not start with thinking while a tool loop continues. */
function lastAssistantLostThinking(messages: AnthropicMessageParam[]): boolean {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role !== "assistant") continue;
    if (!Array.isArray(m.content)) return false;
    const usesTools = m.content.some((b) => b?.type === "tool_use");
    return usesTools && !isThinking(m.content[0]);
  }
  return false;
}
