// The OpenAI Responses API (public API and the ChatGPT Codex backend), only as far as
// translation writes or reads it: requests exactly, stream events loosely (servers send more).

type Obj = Record<string, unknown>;

export type ResponsesContent =
  | { type: "input_text"; text: string }
  | { type: "output_text"; text: string }
  | { type: "input_image"; image_url: string; detail: "auto" }
  | { type: "input_file"; filename: string; file_data: string }
  | { type: "input_file"; file_url: string };

export type ResponsesInputItem =
  | {
    type: "message";
    role: "user" | "assistant" | "developer";
    content: ResponsesContent[];
  }
  | { type: "function_call"; call_id: string; name: string; arguments: string }
  | { type: "function_call_output"; call_id: string; output: string | ResponsesContent[] }
  | { type: "reasoning"; summary: []; encrypted_content: string };

export interface ResponsesTool {
  type: "function";
  name: string;
  description?: string;
  strict: false;
  parameters: Obj;
}

export type ResponsesToolChoice = "auto" | "none" | "required" | { type: "function"; name: string };

/** A Responses request as ccmux sends it (members in the order the Codex CLI sends them). */
export interface ResponsesRequest {
  model: string;
  instructions?: string;
  input: ResponsesInputItem[];
  tools?: ResponsesTool[];
  tool_choice?: ResponsesToolChoice;
  parallel_tool_calls?: boolean;
  reasoning?: { effort?: string; summary?: "auto" };
  store: false;
  stream: true;
  include?: string[];
  prompt_cache_key?: string;
  text?: { format: { type: "json_schema"; name: string; schema: Obj; strict: false } };
  max_output_tokens?: number;
  temperature?: number;
  top_p?: number;
}

/** Usage as the Responses API reports it. */
export interface ResponsesUsage {
  input_tokens?: number;
  input_tokens_details?: { cached_tokens?: number } | null;
  output_tokens?: number;
  output_tokens_details?: { reasoning_tokens?: number } | null;
  total_tokens?: number;
}

/** An output item (in output_item.added/done, or response.output). */
export interface ResponsesItem extends Obj {
  id?: string;
  type?: string;
  /** message */
  content?: { type?: string; text?: string; refusal?: string }[];
  /** reasoning */
  summary?: { type?: string; text?: string }[];
  encrypted_content?: string | null;
  /** function_call */
  call_id?: string;
  name?: string;
  arguments?: string;
}

/** The response object of response.created / completed / incomplete / failed. */
export interface ResponsesObject extends Obj {
  id?: string;
  status?: string;
  output?: ResponsesItem[];
  usage?: ResponsesUsage | null;
  incomplete_details?: { reason?: string } | null;
  error?: { code?: string; type?: string; message?: string } | null;
}

/** One stream event (the `data:` JSON; its `type` is the event name). */
export interface ResponsesEvent extends Obj {
  type?: string;
  output_index?: number;
  item_id?: string;
  content_index?: number;
  summary_index?: number;
  delta?: string;
  text?: string;
  arguments?: string;
  item?: ResponsesItem;
  response?: ResponsesObject;
}
