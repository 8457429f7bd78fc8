// OpenAI Chat Completions response → Anthropic Messages response (non-streaming), plus the
// mappings the stream translator shares: stop reasons, usage, tool arguments.
import { messageId, toolUseId } from "./ids.ts";
import type {
  AnthropicContent,
  AnthropicMessage,
  AnthropicUsage,
  OpenAIChatResponse,
  OpenAIUsage,
  StopReason,
} from "./types.ts";

export interface ResponseOptions {
  /** The model name reported to the client. */
  model: string;
}

/**
 * finish_reason → stop_reason: stop → end_turn, length → max_tokens, tool_calls and
 * function_call → tool_use, content_filter → refusal; anything else (or none) → end_turn.
 * `hadTools`: a provider that says "stop" after calling tools (Ollama, some vLLM builds)
 * still gets tool_use, so clients run the tools.
 */
export function stopReason(finish: string | null | undefined, hadTools: boolean): StopReason {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return hadTools ? "tool_use" : "end_turn";
  }
}

/**
 * OpenAI usage → Anthropic usage. OpenAI's prompt_tokens include cached tokens, Anthropic's
 * input_tokens do not: input_tokens = prompt_tokens − cached, cache_read_input_tokens = cached.
 */
export function usageOf(u: OpenAIUsage | null | undefined): AnthropicUsage {
  const prompt = num(u?.prompt_tokens);
  const cached = Math.min(
    prompt,
    num(u?.prompt_tokens_details?.cached_tokens) || num(u?.prompt_cache_hit_tokens),
  );
  return {
    input_tokens: prompt - cached,
    output_tokens: num(u?.completion_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/**
 * Message content as text: a string, or the text parts of a content array (Mistral and a few
 * others answer with parts; parts of other types carry nothing a text block can hold).
 */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let s = "";
  for (const part of content) {
    if (part && typeof part === "object" && part.type === "text" && typeof part.text === "string") {
      s += part.text;
    }
  }
  return s;
}

/** The key under which tool arguments that are not a JSON object are kept (see parseArguments). */
export const INVALID_ARGUMENTS_KEY = "_invalid_json_arguments";

/**
 * Tool call arguments → tool_use input. Empty → {}; a JSON object → that object; an object
 * (some providers send one instead of a string) → itself; anything else (invalid or non-object
 * JSON) → `{ _invalid_json_arguments: "<raw text>" }`, so the client's schema check fails
 * visibly and the model sees what it sent, instead of the call silently running with {}.
 */
export function parseArguments(args: unknown): Record<string, unknown> {
  if (args && typeof args === "object" && !Array.isArray(args)) {
    return args as Record<string, unknown>;
  }
  if (typeof args !== "string" || args.trim() === "") return {};
  try {
    const v = JSON.parse(args);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch {
    // fall through
  }
  return { [INVALID_ARGUMENTS_KEY]: args };
}

/** Translates a parsed Chat Completions response into an Anthropic message. */
export function openAIToAnthropic(
  resp: OpenAIChatResponse,
  opts: ResponseOptions,
): AnthropicMessage {
  const choice = Array.isArray(resp.choices) ? resp.choices[0] : undefined;
  const msg = choice?.message ?? {};
  const content: AnthropicContent[] = [];

  const reasoning = typeof msg.reasoning_content === "string" && msg.reasoning_content
    ? msg.reasoning_content
    : typeof msg.reasoning === "string"
    ? msg.reasoning
    : "";
  if (reasoning) content.push({ type: "thinking", thinking: reasoning, signature: "" });

  const text = textOf(msg.content);
  if (text) {
    content.push({ type: "text", text });
  }
  const refused = typeof msg.refusal === "string" && msg.refusal !== "";
  if (refused) content.push({ type: "text", text: msg.refusal as string });

  const taken = new Set<string>();
  let hadTools = false;
  if (Array.isArray(msg.tool_calls)) {
    for (const call of msg.tool_calls) {
      if (!call || typeof call !== "object") continue;
      hadTools = true;
      content.push({
        type: "tool_use",
        id: toolUseId(call.id, taken),
        name: String(call.function?.name ?? ""),
        input: parseArguments(call.function?.arguments),
      });
    }
  } else if (msg.function_call && typeof msg.function_call === "object") {
    hadTools = true;
    content.push({
      type: "tool_use",
      id: toolUseId(undefined, taken),
      name: String(msg.function_call.name ?? ""),
      input: parseArguments(msg.function_call.arguments),
    });
  }

  return {
    id: messageId(resp.id),
    type: "message",
    role: "assistant",
    model: opts.model,
    content,
    stop_reason: refused ? "refusal" : stopReason(choice?.finish_reason, hadTools),
    stop_sequence: null,
    usage: usageOf(resp.usage),
  };
}
