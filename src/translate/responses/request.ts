// Anthropic Messages request → OpenAI Responses request, for the ChatGPT Codex backend and the
// public Responses API. The Codex backend is strict about the body (behaviour observed in
// public clients): `stream: true` and `store: false` always, a non-empty `instructions`, and
// 400 for max_output_tokens, temperature, top_p and the like — so for "codex" those are never
// sent, and a client that did not ask to stream is answered by collecting the stream
// (collect.ts). The public API gets the same body plus the output limit and sampling fields.
import { TOOL_ERROR_PREFIX } from "../request.ts";
import { openaiEncryptedContent } from "../signature.ts";
import { ToolNames } from "../tool_names.ts";
import {
  expectArray,
  expectObject,
  expectString,
  expectStringOrArray,
  InvalidRequestError,
  isObject,
  optionalNumber,
  optionalString,
} from "../fields.ts";
import type { AnthropicRequest } from "../types.ts";
import { promptCacheKey } from "./cache_key.ts";
import { textParts, userPart } from "./content.ts";
import { callIdOf } from "./ids.ts";
import type {
  ResponsesContent,
  ResponsesInputItem,
  ResponsesRequest,
  ResponsesTool,
  ResponsesToolChoice,
} from "./types.ts";

type Obj = Record<string, unknown>;

export type ResponsesTarget = "codex" | "public";

export interface ResponsesRequestOptions {
  /** The model name the upstream is sent. */
  model: string;
  /** "codex": the ChatGPT backend's body rules; "public": api.openai.com/v1/responses. */
  target: ResponsesTarget;
  /** `instructions`; for "codex" DEFAULT_INSTRUCTIONS when unset or empty. */
  instructions?: string;
  /** "public" only: clamp max_tokens to this when > 0. */
  maxOutputTokens?: number;
}

/** The Codex backend requires non-empty instructions; the client's system prompt follows. */
export const DEFAULT_INSTRUCTIONS =
  "You are a coding agent. Follow the developer messages that come next; they are the " +
  "instructions of the user's client.";

export interface ResponsesTranslation {
  body: ResponsesRequest;
  /** Short upstream tool names ⇄ the client's (give it to the stream translator). */
  toolNames: ToolNames;
  /** The prompt_cache_key sent (also a good `session-id` header value). */
  cacheKey: string;
}

/**
 * Translates a parsed Anthropic Messages body. Throws InvalidRequestError (→ 400
 * invalid_request_error) for a field it reads that has the wrong shape.
 */
export function anthropicToResponses(
  body: AnthropicRequest,
  opts: ResponsesRequestOptions,
): ResponsesTranslation {
  expectObject(body, "body");
  const toolNames = new ToolNames(toolNameList(body.tools));
  const input: ResponsesInputItem[] = [];

  const system = body.system === undefined ? undefined : expectStringOrArray(body.system, "system");
  const sys = textParts(system, "system", true);
  if (sys.length) input.push({ type: "message", role: "developer", content: sys });

  const messages = expectArray(body.messages, "messages");
  messages.forEach((raw, i) => {
    const at = `messages.${i}`;
    const m = expectObject(raw, at);
    const content = expectStringOrArray(m.content, `${at}.content`);
    if (m.role === "user") pushUser(content, at, input);
    else if (m.role === "assistant") pushAssistant(content, at, input, toolNames);
    else if (m.role === "system") {
      // Claude Code's mid-conversation system notes stay where they are.
      const parts = textParts(content, `${at}.content`, false);
      if (parts.length) input.push({ type: "message", role: "developer", content: parts });
    } else {
      throw new InvalidRequestError(`${at}.role`, 'must be "user", "assistant" or "system"');
    }
  });

  const codex = opts.target === "codex";
  const out: ResponsesRequest = { model: opts.model } as ResponsesRequest;
  const instructions = opts.instructions || (codex ? DEFAULT_INSTRUCTIONS : undefined);
  if (instructions) out.instructions = instructions;
  out.input = input;

  const tools = translateTools(body.tools, toolNames);
  if (tools.length) {
    out.tools = tools;
    out.tool_choice = toolChoice(body.tool_choice, toolNames);
    const c = body.tool_choice as Obj | undefined;
    out.parallel_tool_calls = !(isObject(c) && c.disable_parallel_tool_use === true);
  }

  const reasoningOn = isObject(body.thinking) &&
    (body.thinking.type === "enabled" || body.thinking.type === "adaptive");
  if (reasoningOn) {
    const effort = reasoningEffort(body);
    const reasoning: ResponsesRequest["reasoning"] = {};
    if (effort) reasoning.effort = effort;
    // Claude Code asks for no visible thinking with display "omitted": no summary then.
    if ((body.thinking as Obj).display !== "omitted") reasoning.summary = "auto";
    out.reasoning = reasoning;
  }
  out.store = false;
  out.stream = true;
  // Reasoning is not kept upstream (store: false): its encrypted form travels with the
  // conversation as the thinking block's signature.
  if (reasoningOn) out.include = ["reasoning.encrypted_content"];
  const cacheKey = promptCacheKey(body);
  out.prompt_cache_key = cacheKey;

  const format = isObject(body.output_config) ? body.output_config.format : undefined;
  if (isObject(format) && format.type === "json_schema" && isObject(format.schema)) {
    out.text = {
      format: { type: "json_schema", name: "output", schema: format.schema, strict: false },
    };
  }

  if (!codex) {
    let max = optionalNumber(body.max_tokens, "max_tokens");
    const cap = opts.maxOutputTokens ?? 0;
    if (max !== undefined && cap > 0 && max > cap) max = cap;
    if (max !== undefined) out.max_output_tokens = max;
    const temperature = optionalNumber(body.temperature, "temperature");
    if (temperature !== undefined) out.temperature = temperature;
    const topP = optionalNumber(body.top_p, "top_p");
    if (topP !== undefined) out.top_p = topP;
  }
  return { body: out, toolNames, cacheKey };
}

/**
 * thinking → reasoning.effort. `enabled`: budget_tokens ≤ 1024 → low, ≤ 8192 → medium, more →
 * high (xhigh only where the client asks for the most, as not every model has it).
 * `adaptive`: output_config.effort low / medium / high as they are, max → xhigh, else none
 * (the model's default).
 */
export function reasoningEffort(body: AnthropicRequest): string | undefined {
  const t = expectObject(body.thinking, "thinking");
  if (t.type === "enabled") {
    const budget = optionalNumber(t.budget_tokens, "thinking.budget_tokens") ?? 16384;
    return budget <= 1024 ? "low" : budget <= 8192 ? "medium" : "high";
  }
  const cfg = body.output_config === undefined
    ? undefined
    : expectObject(body.output_config, "output_config");
  const e = optionalString(cfg?.effort, "output_config.effort");
  if (e === "low" || e === "medium" || e === "high" || e === "xhigh") return e;
  if (e === "max") return "xhigh";
  return undefined;
}

function toolNameList(tools: unknown): string[] {
  if (tools === undefined) return [];
  const names: string[] = [];
  expectArray(tools, "tools").forEach((t, i) => {
    const tool = expectObject(t, `tools.${i}`);
    if (isClientTool(tool)) names.push(expectString(tool.name, `tools.${i}.name`));
  });
  return names;
}

/** Client tools have an input_schema; typed tools without one run on Anthropic's servers. */
function isClientTool(tool: Obj): boolean {
  return tool.type === undefined || tool.type === "custom" || tool.input_schema !== undefined;
}

function translateTools(tools: unknown, names: ToolNames): ResponsesTool[] {
  const out: ResponsesTool[] = [];
  if (!Array.isArray(tools)) return out;
  for (const tool of tools as Obj[]) {
    if (!isClientTool(tool)) continue;
    const t: ResponsesTool = {
      type: "function",
      name: names.upstream(tool.name as string),
      strict: false,
      parameters: schemaOf(tool.input_schema),
    };
    if (typeof tool.description === "string") t.description = tool.description;
    out.push(t);
  }
  return out;
}

function schemaOf(schema: unknown): Obj {
  if (!isObject(schema)) return { type: "object", properties: {} };
  if (!("$schema" in schema) && !("cache_control" in schema)) return schema;
  // The draft URI and Anthropic's cache marker mean nothing to OpenAI (and may be rejected).
  const { $schema: _s, cache_control: _c, ...rest } = schema;
  return rest;
}

function toolChoice(c: unknown, names: ToolNames): ResponsesToolChoice {
  if (c === undefined) return "auto";
  const choice = expectObject(c, "tool_choice");
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return {
        type: "function",
        name: names.upstream(expectString(choice.name, "tool_choice.name")),
      };
    default:
      throw new InvalidRequestError("tool_choice.type", 'must be "auto", "any", "tool" or "none"');
  }
}

function pushUser(content: string | unknown[], at: string, out: ResponsesInputItem[]): void {
  if (typeof content === "string") {
    if (content) {
      out.push({ type: "message", role: "user", content: [{ type: "input_text", text: content }] });
    }
    return;
  }
  // Each result follows the calls it answers; the rest of the turn comes after as one message.
  const parts: ResponsesContent[] = [];
  content.forEach((raw, j) => {
    const bat = `${at}.content.${j}`;
    const b = expectObject(raw, bat);
    expectString(b.type, `${bat}.type`);
    if (b.type === "tool_result") out.push(toolOutput(b, bat));
    else {
      const p = userPart(b, bat);
      if (p) parts.push(p);
    }
  });
  if (parts.length) out.push({ type: "message", role: "user", content: parts });
}

function toolOutput(b: Obj, at: string): ResponsesInputItem {
  const callId = callIdOf(expectString(b.tool_use_id, `${at}.tool_use_id`));
  const prefix = b.is_error === true ? TOOL_ERROR_PREFIX : "";
  const c = b.content;
  if (c === undefined || typeof c === "string") {
    return { type: "function_call_output", call_id: callId, output: prefix + (c ?? "") };
  }
  const parts: ResponsesContent[] = [];
  let textOnly = true;
  expectArray(c, `${at}.content`).forEach((item, k) => {
    const p = userPart(expectObject(item, `${at}.content.${k}`), `${at}.content.${k}`);
    if (!p) return;
    if (p.type !== "input_text") textOnly = false;
    parts.push(p);
  });
  if (textOnly) {
    // A plain string is what every Responses server takes.
    const text = parts.map((p) => (p as { text: string }).text).join("\n");
    return { type: "function_call_output", call_id: callId, output: prefix + text };
  }
  if (prefix) parts.unshift({ type: "input_text", text: prefix.trimEnd() });
  return { type: "function_call_output", call_id: callId, output: parts };
}

function pushAssistant(
  content: string | unknown[],
  at: string,
  out: ResponsesInputItem[],
  names: ToolNames,
): void {
  if (typeof content === "string") {
    if (content) {
      out.push({
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: content }],
      });
    }
    return;
  }
  let text: ResponsesContent[] = [];
  const flush = () => {
    if (text.length) out.push({ type: "message", role: "assistant", content: text });
    text = [];
  };
  content.forEach((raw, j) => {
    const bat = `${at}.content.${j}`;
    const b = expectObject(raw, bat);
    switch (b.type) {
      case "text": {
        const t = expectString(b.text, `${bat}.text`);
        if (t) text.push({ type: "output_text", text: t });
        break;
      }
      case "tool_use": {
        flush();
        const id = expectString(b.id, `${bat}.id`);
        const name = expectString(b.name, `${bat}.name`);
        out.push({
          type: "function_call",
          call_id: callIdOf(id),
          name: names.upstream(name),
          arguments: JSON.stringify(b.input ?? {}),
        });
        break;
      }
      case "thinking": {
        // Only OpenAI's own encrypted reasoning goes back; other families' thinking is dropped.
        const enc = openaiEncryptedContent(b.signature);
        if (enc) {
          flush();
          out.push({ type: "reasoning", summary: [], encrypted_content: enc });
        }
        break;
      }
        // redacted_thinking (Anthropic's), server tool blocks: nothing the upstream can take.
    }
  });
  flush();
}
