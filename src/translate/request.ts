// Anthropic Messages request → OpenAI Chat Completions request, in one pass over the body.
// Nothing is deep-copied: strings and tool schemas are shared with the input (only a schema
// that carries `$schema` gets a shallow copy without it). docs/CONFIG.md lists what cannot be
// carried ("What OpenAI-compatible providers cannot carry").
import type {
  AnthropicBlock,
  AnthropicMessageParam,
  AnthropicRequest,
  OpenAIChatRequest,
  OpenAIContentPart,
  OpenAIMessage,
  OpenAITool,
  OpenAIToolCall,
  OpenAIToolChoice,
} from "./types.ts";

type Obj = Record<string, unknown>;

export interface RequestOptions {
  /** The model name the provider is sent. */
  model: string;
  /** Send `max_completion_tokens` instead of `max_tokens` (OpenAI's reasoning models need it). */
  maxCompletionTokens: boolean;
  /** Clamp max_tokens to this when > 0 (many providers reject Claude Code's 32000–64000). */
  maxOutputTokens: number;
  /**
   * "effort" (default): map thinking to `reasoning_effort`; "off": never send it (for models
   * that reject the parameter).
   */
  reasoning?: "effort" | "off";
  /**
   * "merge" (default): `role: "system"` entries of `messages` are appended to the one leading
   * system message, which every provider's chat template accepts; "inline": kept in place.
   */
  systemMessages?: "merge" | "inline";
}

/** Text placed before a tool result's content when the block has `is_error: true`. */
export const TOOL_ERROR_PREFIX = "Error: ";

/** Translates a parsed Anthropic Messages body into a Chat Completions body. */
export function anthropicToOpenAI(body: AnthropicRequest, opts: RequestOptions): OpenAIChatRequest {
  const messages: OpenAIMessage[] = [];
  const systemParts: string[] = [];
  if (typeof body.system === "string") {
    if (body.system) systemParts.push(body.system);
  } else if (Array.isArray(body.system)) {
    const text = joinText(withoutBilling(body.system), "\n\n");
    if (text) systemParts.push(text);
  }
  const inline = opts.systemMessages === "inline";
  // The leading system message is filled in at the end (merged role:"system" messages).
  messages.push({ role: "system", content: "" });

  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      if (!m || typeof m !== "object") continue;
      if (m.role === "assistant") pushAssistant(m, messages);
      else if (m.role === "system") {
        const text = typeof m.content === "string" ? m.content : joinText(m.content, "\n\n");
        if (!text) continue;
        if (inline) messages.push({ role: "system", content: text });
        else systemParts.push(text);
      } else pushUser(m, messages);
    }
  }
  if (systemParts.length) messages[0] = { role: "system", content: systemParts.join("\n\n") };
  else messages.shift();

  const out: OpenAIChatRequest = { model: opts.model, messages };

  if (typeof body.max_tokens === "number") {
    let max = body.max_tokens;
    if (opts.maxOutputTokens > 0 && max > opts.maxOutputTokens) max = opts.maxOutputTokens;
    if (opts.maxCompletionTokens) out.max_completion_tokens = max;
    else out.max_tokens = max;
  }
  if (typeof body.temperature === "number") out.temperature = body.temperature;
  if (typeof body.top_p === "number") out.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length) {
    out.stop = body.stop_sequences;
  }
  if (body.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }

  const tools = translateTools(body.tools);
  if (tools.length) {
    out.tools = tools;
    const choice = translateToolChoice(body.tool_choice);
    if (choice !== undefined) out.tool_choice = choice;
    if (body.tool_choice?.disable_parallel_tool_use === true && choice !== "none") {
      out.parallel_tool_calls = false;
    }
  }

  if (opts.reasoning !== "off") {
    const effort = reasoningEffort(body);
    if (effort) out.reasoning_effort = effort;
  }
  return out;
}

/**
 * thinking → reasoning_effort. `enabled`: budget_tokens ≤ 4096 → low, ≤ 16384 → medium,
 * more → high. `adaptive`: output_config.effort (low/medium/high; max → high), else nothing
 * (the provider's default). `disabled` or absent: nothing.
 */
export function reasoningEffort(body: AnthropicRequest): "low" | "medium" | "high" | undefined {
  const t = body.thinking;
  if (!t || typeof t !== "object") return undefined;
  if (t.type === "enabled") {
    const budget = typeof t.budget_tokens === "number" ? t.budget_tokens : 16384;
    return budget <= 4096 ? "low" : budget <= 16384 ? "medium" : "high";
  }
  if (t.type === "adaptive") {
    const e = body.output_config?.effort;
    if (e === "low" || e === "medium" || e === "high") return e;
    if (e === "max") return "high";
  }
  return undefined;
}

/**
 * Claude Code starts its system prompt with a `x-anthropic-billing-header: …` text block:
 * Anthropic's per-request attribution. Other providers have no use for it, and as it changes
 * with every request it would defeat their prompt caching.
 */
const BILLING_PREFIX = "x-anthropic-billing-header:";

function isBilling(b: unknown): boolean {
  const text = (b as Obj | null)?.text;
  return typeof text === "string" && text.startsWith(BILLING_PREFIX);
}

function withoutBilling(blocks: unknown[]): unknown[] {
  return blocks.some(isBilling) ? blocks.filter((b) => !isBilling(b)) : blocks;
}

function joinText(blocks: unknown, sep: string): string {
  if (typeof blocks === "string") return blocks;
  if (!Array.isArray(blocks)) return "";
  let s = "";
  let first = true;
  for (const b of blocks) {
    if (b && typeof b === "object" && typeof (b as Obj).text === "string") {
      s += first ? (b as Obj).text as string : sep + ((b as Obj).text as string);
      first = false;
    }
  }
  return s;
}

function imagePart(b: Obj): OpenAIContentPart | undefined {
  const src = b.source as Obj | undefined;
  if (!src || typeof src !== "object") return undefined;
  if (src.type === "base64" && typeof src.data === "string") {
    return { type: "image_url", image_url: { url: `data:${src.media_type};base64,${src.data}` } };
  }
  if (src.type === "url" && typeof src.url === "string") {
    return { type: "image_url", image_url: { url: src.url } };
  }
  return undefined;
}

function documentPart(b: Obj): OpenAIContentPart | undefined {
  const src = b.source as Obj | undefined;
  if (!src || typeof src !== "object") return undefined;
  const title = typeof b.title === "string" ? b.title : undefined;
  if (src.type === "text" && typeof src.data === "string") {
    return { type: "text", text: title ? `${title}\n\n${src.data}` : src.data };
  }
  if (src.type === "content") {
    const text = joinText(src.content, "\n");
    return text ? { type: "text", text } : undefined;
  }
  if (src.type === "base64" && typeof src.data === "string") {
    const media = typeof src.media_type === "string" ? src.media_type : "application/pdf";
    return {
      type: "file",
      file: { filename: title ?? "document.pdf", file_data: `data:${media};base64,${src.data}` },
    };
  }
  if (src.type === "url" && typeof src.url === "string") {
    return { type: "text", text: `[document: ${src.url}]` };
  }
  return undefined;
}

/** A user-side content block as an OpenAI part; undefined for what cannot be carried. */
function userPart(b: Obj): OpenAIContentPart | undefined {
  switch (b.type) {
    case "text":
      return typeof b.text === "string" ? { type: "text", text: b.text } : undefined;
    case "image":
      return imagePart(b);
    case "document":
      return documentPart(b);
    case "search_result": {
      const text = joinText(b.content, "\n");
      const head = [b.title, b.source].filter((x) => typeof x === "string").join("\n");
      return { type: "text", text: head ? `${head}\n\n${text}` : text };
    }
    default:
      return undefined;
  }
}

/** Parts → the message content: a plain string when it is one text part (widest support). */
function contentOf(parts: OpenAIContentPart[]): string | OpenAIContentPart[] {
  return parts.length === 1 && parts[0].type === "text" ? parts[0].text : parts;
}

function pushUser(m: AnthropicMessageParam, out: OpenAIMessage[]): void {
  if (typeof m.content === "string") {
    out.push({ role: "user", content: m.content });
    return;
  }
  if (!Array.isArray(m.content)) return;
  // OpenAI wants every tool message straight after the assistant message that called the
  // tools, so tool results go first (in their order) and the rest follows as one user message.
  const parts: OpenAIContentPart[] = [];
  for (const b of m.content as AnthropicBlock[]) {
    if (!b || typeof b !== "object") continue;
    if (b.type === "tool_result") {
      out.push(toolMessage(b, parts));
      continue;
    }
    const p = userPart(b);
    if (p) parts.push(p);
  }
  if (parts.length) out.push({ role: "user", content: contentOf(parts) });
}

/** A tool_result block → a tool message; its images go to `images` (a later user message). */
function toolMessage(b: Obj, images: OpenAIContentPart[]): OpenAIMessage {
  let text = "";
  const id = String(b.tool_use_id ?? "");
  const c = b.content;
  if (typeof c === "string") text = c;
  else if (Array.isArray(c)) {
    let first = true;
    let labelled = false;
    for (const item of c) {
      if (!item || typeof item !== "object") continue;
      const p = userPart(item as Obj);
      if (!p) continue;
      if (p.type === "text") {
        text += first ? p.text : "\n" + p.text;
        first = false;
      } else {
        // Tool messages carry text only: the image follows in a user message, labelled so
        // the model can tell which call produced it.
        if (!labelled) images.push({ type: "text", text: `[attachment of tool result ${id}]` });
        labelled = true;
        images.push(p);
      }
    }
  }
  if (b.is_error === true) text = TOOL_ERROR_PREFIX + text;
  return { role: "tool", tool_call_id: id, content: text };
}

function pushAssistant(m: AnthropicMessageParam, out: OpenAIMessage[]): void {
  if (typeof m.content === "string") {
    if (m.content) out.push({ role: "assistant", content: m.content });
    return;
  }
  if (!Array.isArray(m.content)) return;
  let text = "";
  let hasText = false;
  const calls: OpenAIToolCall[] = [];
  for (const b of m.content as AnthropicBlock[]) {
    if (!b || typeof b !== "object") continue;
    if (b.type === "text" && typeof b.text === "string") {
      text += hasText ? "\n\n" + b.text : b.text;
      hasText = true;
    } else if (b.type === "tool_use") {
      calls.push({
        id: String(b.id ?? ""),
        type: "function",
        function: { name: String(b.name ?? ""), arguments: JSON.stringify(b.input ?? {}) },
      });
    }
    // thinking / redacted_thinking: dropped (providers reject or ignore reasoning history);
    // server_tool_use and its results: the provider did not run those tools.
  }
  if (calls.length) {
    out.push({ role: "assistant", content: hasText ? text : null, tool_calls: calls });
  } else if (hasText) out.push({ role: "assistant", content: text });
}

/** Anthropic tools → functions. Server tools (web_search, code_execution, ...) are dropped. */
export function translateTools(tools: unknown): OpenAITool[] {
  const out: OpenAITool[] = [];
  if (!Array.isArray(tools)) return out;
  for (const t of tools) {
    if (!t || typeof t !== "object") continue;
    const tool = t as Obj;
    // Client tools have an input_schema; typed tools without one are run by Anthropic's
    // servers or need Anthropic's built-in schemas, which no OpenAI provider has.
    if (tool.type !== undefined && tool.type !== "custom" && !tool.input_schema) continue;
    if (typeof tool.name !== "string") continue;
    const fn: OpenAITool["function"] = { name: tool.name, parameters: schemaOf(tool.input_schema) };
    if (typeof tool.description === "string") fn.description = tool.description;
    if (tool.strict === true) fn.strict = true;
    out.push({ type: "function", function: fn });
  }
  return out;
}

function schemaOf(schema: unknown): Obj {
  if (!schema || typeof schema !== "object") return { type: "object", properties: {} };
  const s = schema as Obj;
  if (!("$schema" in s)) return s;
  // Several providers reject the draft URI; the schema means the same without it.
  const { $schema: _drop, ...rest } = s;
  return rest;
}

function translateToolChoice(c: AnthropicRequest["tool_choice"]): OpenAIToolChoice | undefined {
  if (!c || typeof c !== "object") return undefined;
  switch (c.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return typeof c.name === "string"
        ? { type: "function", function: { name: c.name } }
        : "required";
    default:
      return undefined;
  }
}
