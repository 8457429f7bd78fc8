// Minimal shapes of the two wire protocols, only as far as translation reads or writes them.
// Inputs are typed loosely (clients and providers send more than this); outputs exactly.

type Obj = Record<string, unknown>;

// ---- Anthropic Messages ----

/** An Anthropic content block as clients send it (text, image, tool_use, tool_result, ...). */
export interface AnthropicBlock extends Obj {
  type: string;
}

/** One entry of `messages`. Claude Code also sends `role: "system"` here. */
export interface AnthropicMessageParam {
  role: "user" | "assistant" | "system";
  content: string | AnthropicBlock[];
}

/** The parts of a Messages request body that translation reads. */
export interface AnthropicRequest extends Obj {
  model?: string;
  system?: string | AnthropicBlock[];
  messages?: AnthropicMessageParam[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  stream?: boolean;
  tools?: Obj[];
  tool_choice?: { type: string; name?: string; disable_parallel_tool_use?: boolean };
  thinking?: { type: string; budget_tokens?: number };
  output_config?: { effort?: string } & Obj;
}

/** An Anthropic response content block as ccmux produces it. */
export type AnthropicContent =
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown };

/** Anthropic usage as ccmux reports it. */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

/** Anthropic stop reasons ccmux produces. */
export type StopReason = "end_turn" | "max_tokens" | "tool_use" | "refusal" | "stop_sequence";

/** A non-streaming Messages response. */
export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContent[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

// ---- OpenAI Chat Completions ----

export type OpenAIContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } }
  | { type: "file"; file: { filename: string; file_data: string } };

export interface OpenAIToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type OpenAIMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string | OpenAIContentPart[] }
  | { role: "assistant"; content: string | null; tool_calls?: OpenAIToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export interface OpenAITool {
  type: "function";
  function: { name: string; description?: string; parameters: Obj; strict?: boolean };
}

export type OpenAIToolChoice =
  | "auto"
  | "none"
  | "required"
  | { type: "function"; function: { name: string } };

/** A Chat Completions request as ccmux sends it. */
export interface OpenAIChatRequest {
  model: string;
  messages: OpenAIMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  stream?: boolean;
  stream_options?: { include_usage: boolean };
  tools?: OpenAITool[];
  tool_choice?: OpenAIToolChoice;
  parallel_tool_calls?: boolean;
  reasoning_effort?: "low" | "medium" | "high";
}

/** OpenAI usage, including the detail fields providers add. */
export interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  /** DeepSeek's name for cached prompt tokens. */
  prompt_cache_hit_tokens?: number;
}

/** A tool call as providers return it (arguments sometimes arrive as an object). */
export interface OpenAIResponseToolCall {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string | Obj };
}

/** The assistant message of a non-streaming choice, or a streaming delta. */
export interface OpenAIResponseMessage {
  role?: string;
  /** A string; a few providers send an array of parts instead. */
  content?: string | { type?: string; text?: string }[] | null;
  refusal?: string | null;
  /** DeepSeek, vLLM, Qwen, Moonshot. */
  reasoning_content?: string | null;
  /** OpenRouter, Groq, Ollama. */
  reasoning?: string | null;
  tool_calls?: OpenAIResponseToolCall[] | null;
  /** The legacy single function call. */
  function_call?: { name?: string; arguments?: string } | null;
}

/** A non-streaming Chat Completions response. */
export interface OpenAIChatResponse {
  id?: string;
  model?: string;
  choices?: { index?: number; message?: OpenAIResponseMessage; finish_reason?: string | null }[];
  usage?: OpenAIUsage | null;
}

/** One streaming chunk (`data:` line) of a Chat Completions stream. */
export interface OpenAIChatChunk {
  id?: string;
  model?: string;
  choices?: { index?: number; delta?: OpenAIResponseMessage; finish_reason?: string | null }[];
  usage?: OpenAIUsage | null;
  error?: { message?: string; type?: string; code?: unknown } | string;
}
