// Whole HTTP requests shaped like what Claude Code really sends: POST
// /v1/messages?beta=true, its headers and betas, and a ~64 KB streaming body with ~24 tools,
// system blocks with cache_control, tool results and a trailing role "system" message.
// The bodies come from cc_requests.ts; this adds the conversation, the headers and the bytes.
import { Buffer } from "node:buffer";
import { mainRequest } from "./cc_requests.ts";

type Obj = Record<string, unknown>;

/** The betas Claude Code sends on main requests. */
export const CLAUDE_CODE_BETAS = [
  "claude-code-20250219",
  "context-1m-2025-08-07",
  "interleaved-thinking-2025-05-14",
  "context-management-2025-06-27",
  "effort-2025-11-24",
  "fine-grained-tool-streaming-2025-05-14",
];

/** Client credentials as Claude Code sends them (one of the two, as the user set them). */
export interface ClientAuth {
  /** ANTHROPIC_API_KEY → x-api-key */
  apiKey?: string;
  /** ANTHROPIC_AUTH_TOKEN → authorization: Bearer */
  authToken?: string;
}

/** Claude Code's request headers (no host / content-length: the HTTP client sets those). */
export function claudeCodeHeaders(auth: ClientAuth = {}, betas = CLAUDE_CODE_BETAS) {
  const h: Record<string, string> = {
    "accept": "application/json",
    "content-type": "application/json",
    "user-agent": "claude-cli/2.1.197 (external, cli)",
    "x-app": "cli",
    "x-claude-code-session-id": "6f1c1a52-0d7e-4d8e-9a51-2f0f3c1a9b11",
    "anthropic-version": "2023-06-01",
    "anthropic-dangerous-direct-browser-access": "true",
    "anthropic-beta": betas.join(","),
    "x-stainless-lang": "js",
    "x-stainless-package-version": "0.70.0",
    "x-stainless-os": "Linux",
    "x-stainless-arch": "x64",
    "x-stainless-runtime": "node",
    "x-stainless-runtime-version": "v24.3.0",
    "x-stainless-retry-count": "0",
    "x-stainless-timeout": "600",
    "accept-encoding": "gzip, deflate, br, zstd",
  };
  if (auth.apiKey) h["x-api-key"] = auth.apiKey;
  if (auth.authToken) h["authorization"] = `Bearer ${auth.authToken}`;
  return h;
}

/** A Claude Code main-loop body of about `targetKb` KB (default 64). */
export function claudeCodeBody(over: Obj = {}, targetKb = 64): Obj {
  const body = mainRequest(over);
  const messages = [...(body.messages as Obj[])];
  messages.push(
    {
      role: "assistant",
      content: [
        { type: "text", text: "I'll read the file first." },
        { type: "tool_use", id: "toolu_01", name: "Tool0", input: { file_path: "/src/a.ts" } },
      ],
    },
    {
      role: "user",
      content: [{
        type: "tool_result",
        tool_use_id: "toolu_01",
        content: "ENOENT: no such file",
        is_error: true,
        cache_control: { type: "ephemeral" },
      }],
    },
  );
  // Pad with a realistic file read (non-ASCII included) until the body reaches the target.
  const size = () => Buffer.byteLength(JSON.stringify({ ...body, messages }));
  let n = 2;
  while (size() < targetKb * 1024) {
    messages.push(
      {
        role: "assistant",
        content: [{
          type: "tool_use",
          id: `toolu_${n}`,
          name: "Tool1",
          input: { file_path: `/src/file_${n}.ts` },
        }],
      },
      {
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: `toolu_${n}`,
          content: `export const x${n} = "naïve café — ✓";\n`.repeat(60),
        }],
      },
    );
    n++;
  }
  messages.push({ role: "user", content: "Continue." });
  // Observed: a plain-string role "system" message as the last element.
  messages.push({ role: "system", content: "The user is in plan mode." });
  return { ...body, messages };
}

/** One complete Claude Code request: path with ?beta=true, headers, body text and object. */
export interface ClaudeCodeRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: Obj;
}

/** Builds a Claude Code request (streaming by default). */
export function claudeCodeRequest(
  opts: { auth?: ClientAuth; body?: Obj; betas?: string[]; targetKb?: number } = {},
): ClaudeCodeRequest {
  const json = claudeCodeBody(opts.body, opts.targetKb);
  return {
    path: "/v1/messages?beta=true",
    headers: claudeCodeHeaders(opts.auth, opts.betas),
    body: JSON.stringify(json),
    json,
  };
}
