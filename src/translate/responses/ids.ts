// Call ids between Anthropic tool_use ids and Responses function-call ids, deterministic in
// both directions so that a tool_use and its tool_result map to the same call_id on every turn.
//
// Upstream → client: call_id "call_abc" → tool_use id "toolu_call_abc" (translate/ids.ts).
// Client → upstream: "toolu_call_abc" → "call_abc" again (the model sees its own id); any other
// id (Anthropic's "toolu_01…", another provider's) is kept, and an id over 64 characters —
// the Responses API's limit — becomes its first 47 characters + "_" + 16 hex of its sha256.
import { createHash } from "node:crypto";

export const MAX_CALL_ID = 64;

/** The Responses call_id for an Anthropic tool_use id (or a tool_result's tool_use_id). */
export function callIdOf(toolUseId: string): string {
  const id = toolUseId.startsWith("toolu_call_") ? toolUseId.slice(6) : toolUseId;
  if (id.length <= MAX_CALL_ID) return id;
  const hex = createHash("sha256").update(id).digest("hex").slice(0, 16);
  return `${id.slice(0, MAX_CALL_ID - 17)}_${hex}`;
}
