// A stable prompt_cache_key per conversation. The Responses API routes requests with the same
// key to the same prompt cache; the Codex CLI sends its conversation id. Claude Code sends its
// session id in metadata.user_id: a JSON string `{"device_id":…,"account_uuid":…,
// "session_id":…}` (older versions: "user_<hash>_account_<uuid>_session_<uuid>"). Without one,
// the key is a hash of what stays the same for the whole conversation: the model-independent
// system text (Claude Code's per-request billing block left out) and the first user message.
import { createHash } from "node:crypto";
import type { AnthropicRequest } from "../types.ts";

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const LEGACY = /_session_([A-Za-z0-9-]+)$/;

/** Claude Code's session id from metadata.user_id, if there is one. */
export function sessionIdOf(body: AnthropicRequest): string | undefined {
  const meta = body.metadata as { user_id?: unknown } | undefined;
  const uid = meta && typeof meta === "object" ? meta.user_id : undefined;
  if (typeof uid !== "string" || uid === "") return undefined;
  if (uid.charCodeAt(0) === 123 /* "{" */) {
    try {
      const v = JSON.parse(uid);
      if (v && typeof v.session_id === "string" && v.session_id) return v.session_id;
    } catch {
      // not JSON after all: try the legacy form
    }
  }
  return LEGACY.exec(uid)?.[1];
}

/** True for Claude Code's attribution block, which changes on every request. */
export function isBillingHeader(text: string): boolean {
  return text.startsWith("x-anthropic-billing-header:");
}

/** The prompt_cache_key for this request (see the top of this file). */
export function promptCacheKey(body: AnthropicRequest): string {
  const session = sessionIdOf(body);
  if (session !== undefined) {
    return SAFE_ID.test(session) ? session : "ccmux-" + sha(session).slice(0, 32);
  }
  const h = createHash("sha256");
  const sys = body.system;
  if (typeof sys === "string") h.update(sys);
  else if (Array.isArray(sys)) {
    for (const b of sys) {
      const t = b && typeof b === "object" ? b.text : undefined;
      if (typeof t === "string" && !isBillingHeader(t)) h.update(t).update("\0");
    }
  }
  h.update("\x01");
  const first = Array.isArray(body.messages)
    ? body.messages.find((m) => m && m.role === "user")
    : undefined;
  if (first) h.update(JSON.stringify(first.content) ?? "");
  return "ccmux-" + h.digest("hex").slice(0, 32);
}

function sha(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
