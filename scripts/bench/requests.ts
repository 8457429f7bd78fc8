// Request bodies and headers for the benchmark: a small request (~400 B) and a ~50 KB one
// shaped like what Claude Code really sends: three system blocks (two with
// cache_control), ~20 tools with draft 2020-12 JSON Schemas, several turns with tool_use and
// tool_result, thinking, context_management, output_config, metadata.user_id, `?beta=true`.

export type Size = "small" | "large";

export interface BenchRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Deterministic filler text, so every run sends the same bytes. */
function filler(n: number, seed: number): string {
  const words = [
    "the",
    "file",
    "function",
    "returns",
    "config",
    "request",
    "value",
    "stream",
    "token",
    "error",
    "module",
    "test",
    "build",
    "route",
    "handler",
    "provider",
  ];
  let s = "";
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += words[x % words.length] + (x % 11 === 0 ? ".\n" : " ");
  }
  return s.slice(0, n);
}

function tool(i: number) {
  return {
    name: `Tool${i}`,
    description: `Tool number ${i}. ${filler(700, i)}`,
    input_schema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: {
        file_path: { type: "string", description: "The absolute path to the file" },
        pattern: { type: "string", description: "The pattern to search for" },
        limit: { type: "number", description: "How many lines to read" },
        options: {
          type: "object",
          properties: {
            recursive: { type: "boolean" },
            mode: { type: "string", enum: ["content", "files_with_matches", "count"] },
          },
          additionalProperties: false,
        },
        items: {
          type: "array",
          items: {
            type: "object",
            properties: { id: { type: "string" }, status: { type: "string" } },
            required: ["id"],
          },
        },
      },
      required: ["file_path"],
      additionalProperties: false,
    },
  };
}

const LARGE_TARGET = 50 * 1024;

function largeBody(stream: boolean, marker: string): string {
  const build = (pad: number) => ({
    model: "claude-sonnet-4-5",
    max_tokens: 32000,
    system: [
      { type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude." },
      {
        type: "text",
        text: `You are an interactive CLI tool. ${filler(6000, 1)}`,
        cache_control: { type: "ephemeral" },
      },
      {
        type: "text",
        text: `Environment: working directory /home/user/project. ${filler(1500, 2)}`,
        cache_control: { type: "ephemeral" },
      },
    ],
    messages: [
      { role: "user", content: [{ type: "text", text: `Fix the failing test. ${marker}` }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "I'll look at the test first." },
          {
            type: "tool_use",
            id: "toolu_01AAAAAAAAAAAAAAAAAAAAAA",
            name: "Tool1",
            input: { file_path: "/home/user/project/tests/a_test.ts" },
          },
        ],
      },
      {
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: "toolu_01AAAAAAAAAAAAAAAAAAAAAA",
          content: filler(4000, 3),
          is_error: false,
        }],
      },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Now the implementation." },
          {
            type: "tool_use",
            id: "toolu_01BBBBBBBBBBBBBBBBBBBBBB",
            name: "Tool2",
            input: { file_path: "/home/user/project/src/a.ts", limit: 200 },
          },
        ],
      },
      {
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: "toolu_01BBBBBBBBBBBBBBBBBBBBBB",
          content: filler(pad, 4),
          is_error: false,
          cache_control: { type: "ephemeral" },
        }],
      },
    ],
    tools: Array.from({ length: 20 }, (_, i) => tool(i)),
    metadata: {
      user_id: JSON.stringify({
        device_id: "0123456789abcdef0123456789abcdef",
        account_uuid: "00000000-0000-4000-8000-000000000000",
        session_id: "11111111-1111-4111-8111-111111111111",
      }),
    },
    thinking: { type: "adaptive" },
    context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
    output_config: { effort: "high" },
    stream,
  });
  const base = JSON.stringify(build(0)).length;
  return JSON.stringify(build(Math.max(0, LARGE_TARGET - base)));
}

function smallBody(stream: boolean, marker: string): string {
  return JSON.stringify({
    model: "claude-sonnet-4-5",
    max_tokens: 1024,
    system: "You are a helpful assistant.",
    messages: [{
      role: "user",
      content: `Write one sentence about benchmarks. ${marker}${filler(200, 5)}`.trim(),
    }],
    metadata: { user_id: "bench-user" },
    stream,
  });
}

const CLAUDE_CODE_HEADERS: Record<string, string> = {
  "content-type": "application/json",
  "accept": "application/json",
  "anthropic-version": "2023-06-01",
  "anthropic-beta":
    "claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,context-management-2025-06-27,effort-2025-11-24",
  "anthropic-dangerous-direct-browser-access": "true",
  "user-agent": "claude-cli/2.1.197 (external, cli)",
  "x-app": "cli",
  "x-claude-code-session-id": "11111111-1111-4111-8111-111111111111",
  "x-stainless-lang": "js",
  "x-stainless-package-version": "0.70.0",
  "x-stainless-os": "Linux",
  "x-stainless-arch": "x64",
  "x-stainless-runtime": "node",
  "x-stainless-runtime-version": "v24.3.0",
  "x-stainless-retry-count": "0",
  "x-stainless-timeout": "600",
  "x-api-key": "sk-ant-client-key-not-used",
};

const SMALL_HEADERS: Record<string, string> = {
  "content-type": "application/json",
  "anthropic-version": "2023-06-01",
  "x-api-key": "sk-ant-client-key-not-used",
};

/** The request for one cell. `marker` is embedded in the user text (the stub's slow mode). */
export function benchRequest(size: Size, stream: boolean, marker = ""): BenchRequest {
  if (size === "small") {
    return { path: "/v1/messages", headers: SMALL_HEADERS, body: smallBody(stream, marker) };
  }
  return {
    path: "/v1/messages?beta=true",
    headers: CLAUDE_CODE_HEADERS,
    body: largeBody(stream, marker),
  };
}
