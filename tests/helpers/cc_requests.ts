// Request bodies shaped like what Claude Code really sends: three system blocks, ~24
// tools with draft 2020-12 JSON Schemas, adaptive thinking on main requests, and haiku
// requests with thinking enabled (budget 31999, max_tokens 32000).

type Obj = Record<string, unknown>;

/** Claude Code's ~24 tools, each with a JSON Schema like the real ones (about 40 KB in all). */
export function claudeCodeTools(count = 24): Obj[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `Tool${i}`,
    description: `Tool number ${i}. `.repeat(60) + "Use it when the task calls for it.",
    input_schema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: {
        file_path: { type: "string", description: "The absolute path to the file to operate on" },
        content: { type: "string", description: "The content to write to the file" },
        limit: { type: "number", description: "The number of lines to read" },
        options: {
          type: "array",
          items: { type: "object", properties: { flag: { type: "boolean" } } },
        },
      },
      required: ["file_path"],
      additionalProperties: false,
    },
  }));
}

/** The three system blocks Claude Code sends; two carry cache_control. */
export function claudeCodeSystem(): Obj[] {
  return [
    { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=cli" },
    {
      type: "text",
      text: "You are Claude Code, Anthropic's official CLI for Claude.",
      cache_control: { type: "ephemeral" },
    },
    {
      type: "text",
      text: "You are an interactive CLI tool that helps users with software engineering tasks.\n" +
        "# Tone and style\nBe concise.\n".repeat(200),
      cache_control: { type: "ephemeral" },
    },
  ];
}

/** A main-loop request: default model, adaptive thinking, streaming, the full tool set. */
export function mainRequest(over: Obj = {}): Obj {
  return {
    model: "claude-opus-4-8",
    max_tokens: 64000,
    stream: true,
    system: claudeCodeSystem(),
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "<system-reminder>context</system-reminder>" },
          { type: "text", text: "Fix the failing test", cache_control: { type: "ephemeral" } },
        ],
      },
    ],
    tools: claudeCodeTools(),
    thinking: { type: "adaptive" },
    context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
    output_config: { effort: "high" },
    metadata: { user_id: JSON.stringify({ device_id: "d", session_id: "s" }) },
    ...over,
  };
}

/** A haiku (background) request as Claude Code sends it: thinking enabled, budget 31999. */
export function haikuRequest(over: Obj = {}): Obj {
  return mainRequest({
    model: "claude-haiku-4-5-20251001",
    max_tokens: 32000,
    thinking: { type: "enabled", budget_tokens: 31999 },
    tools: [],
    ...over,
  });
}
