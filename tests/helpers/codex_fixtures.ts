// The Codex-shaped stream fixtures (tests/fixtures/codex/) and the translator options they are
// golden for, shared by the stream and collect tests.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ToolNames } from "../../src/translate/tool_names.ts";

export const CODEX_FIXTURES = join(import.meta.dirname ?? ".", "..", "fixtures", "codex");

export const CODEX_STREAMS = [
  "text",
  "reasoning",
  "parallel_tools",
  "early_args",
  "incomplete",
  "failed_early",
  "failed_midstream",
  "error_event",
  "truncated",
  "output_only",
];

/** A tool name over 64 characters: the fixtures call it by its short form "mcp__query". */
export const LONG_TOOL = "mcp__claude_ai_Very_Long_Integration_Server_Name_For_Tests__query";

export function codexOpts() {
  return {
    model: "gpt-5.5",
    inputTokens: 100,
    toolNames: new ToolNames(["Read", "Bash", LONG_TOOL]),
    upstreamName: "codex",
  };
}

export function codexFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(CODEX_FIXTURES, `${name}.sse`)));
}

/** The golden Anthropic SSE ("" for a stream that fails before the first byte). */
export function codexGolden(name: string): string {
  const path = join(CODEX_FIXTURES, `${name}.anthropic.sse`);
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

/** The golden collected message, or `{ failure }`. */
export function codexGoldenJson(name: string): unknown {
  return JSON.parse(readFileSync(join(CODEX_FIXTURES, `${name}.anthropic.json`), "utf8"));
}
