// The per-request headers GitHub Copilot reads: X-Initiator (which decides whether the request
// counts as a premium request) and Copilot-Vision-Request.

type Obj = Record<string, unknown>;

/**
 * "user" when the conversation's last turn is a person's, "agent" otherwise: the last user or
 * assistant message (a trailing role "system" message, which Claude Code sends, is not a turn)
 * is an assistant message, or a user message of tool_result blocks only — besides which Claude
 * Code may add text blocks that are nothing but a `<system-reminder>…</system-reminder>` (its
 * own notes, not the person's words), which do not make it a person's turn.
 */
export function initiator(body: Obj): "user" | "agent" {
  const messages = Array.isArray(body.messages) ? body.messages as unknown[] : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as Obj | null;
    if (!m || typeof m !== "object") continue;
    if (m.role === "assistant") return "agent";
    if (m.role !== "user") continue;
    const c = m.content;
    if (!Array.isArray(c) || c.length === 0) return "user";
    let results = 0;
    for (const b of c) {
      const block = b as Obj | null;
      if (block?.type === "tool_result") results++;
      else if (!isSystemReminder(block)) return "user";
    }
    return results > 0 ? "agent" : "user";
  }
  return "user";
}

const REMINDER = /^\s*<system-reminder>[\s\S]*<\/system-reminder>\s*$/;

function isSystemReminder(block: Obj | null): boolean {
  return block?.type === "text" && typeof block.text === "string" && REMINDER.test(block.text);
}

/** True when any message holds an image (also inside a tool result). */
export function hasImage(body: Obj): boolean {
  const messages = Array.isArray(body.messages) ? body.messages as unknown[] : [];
  return messages.some((m) => m && typeof m === "object" && blocksHaveImage((m as Obj).content));
}

function blocksHaveImage(content: unknown): boolean {
  if (!Array.isArray(content)) return false;
  return content.some((b) => {
    if (!b || typeof b !== "object") return false;
    const block = b as Obj;
    if (block.type === "image") return true;
    return block.type === "tool_result" && blocksHaveImage(block.content);
  });
}
