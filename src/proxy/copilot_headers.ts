// The per-request headers GitHub Copilot reads: X-Initiator (which decides whether the request
// counts as a premium request) and Copilot-Vision-Request.

type Obj = Record<string, unknown>;

/**
 * "user" when the conversation's last turn is a person's, "agent" otherwise: the last user or
 * assistant message (a trailing role "system" message, which Claude Code sends, is not a turn)
 * is an assistant message, or a user message made only of tool_result blocks.
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
    const onlyResults = c.every((b) =>
      b && typeof b === "object" && (b as Obj).type === "tool_result"
    );
    return onlyResults ? "agent" : "user";
  }
  return "user";
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
