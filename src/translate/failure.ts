// An upstream failure reported inside a translated stream — a Chat Completions error chunk
// (`data: {"error": …}`), a Responses `response.failed` or `error` event, or a stream that ends
// or breaks before its answer — as the HTTP status and Anthropic error type the client should
// see. Before the first byte the caller answers with it (and the dispatcher may fail over on
// 408/429/5xx); after it, the stream ends with an Anthropic error event of that type.

type Obj = Record<string, unknown>;

export interface UpstreamFailure {
  /** The status to answer with (429, 400, 529, 502, …). */
  status: number;
  /** The Anthropic error type (rate_limit_error, invalid_request_error, …). */
  type: string;
  message: string;
  /** The upstream's error code, e.g. "rate_limit_exceeded", "context_length_exceeded". */
  code?: string;
  /** Seconds until a retry may succeed, when the upstream said so. */
  retryAfterSeconds?: number;
}

const RETRY_IN = /try again in (\d+(?:\.\d+)?)\s*(ms|s|seconds?)\b/i;

/** The Anthropic error type of a status. */
export function anthropicType(status: number): string {
  if (status === 400 || status === 422) return "invalid_request_error";
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 503 || status === 529) return "overloaded_error";
  return "api_error";
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** An HTTP error status given as a number or a numeric string (OpenRouter, vLLM: `code: 429`). */
function httpStatus(v: unknown): number | undefined {
  const n = typeof v === "number"
    ? v
    : typeof v === "string" && /^\d{3}$/.test(v)
    ? Number(v)
    : NaN;
  return n >= 400 && n <= 599 ? n : undefined;
}

/** "context" marks a context-window overflow (a 400 Claude Code knows how to handle). */
type Known = number | "context" | "given-or-400";

/** Error codes and types of OpenAI, the Codex backend and OpenAI-compatible providers. */
const KNOWN: Record<string, Known> = {
  rate_limit_exceeded: 429,
  rate_limit_error: 429,
  too_many_requests: 429,
  usage_limit_reached: 429,
  usage_not_included: 429,
  insufficient_quota: 429,
  // OpenAI's `type` of a rate limit: which allowance ran out.
  tokens: 429,
  requests: 429,
  context_length_exceeded: "context",
  context_too_large: "context",
  server_is_overloaded: 529,
  overloaded_error: 529,
  overloaded: 529,
  slow_down: 529,
  server_error: 502,
  api_error: 502,
  internal_error: 502,
  authentication_error: 401,
  invalid_api_key: 401,
  permission_error: 403,
  not_found_error: 404,
  model_not_found: 404,
  invalid_prompt: "given-or-400",
  invalid_request_error: "given-or-400",
  invalid_encrypted_content: "given-or-400",
  cyber_policy: "given-or-400",
  BadRequestError: "given-or-400",
};

function known(key: string | undefined): Known | undefined {
  if (key === undefined) return undefined;
  if (Object.hasOwn(KNOWN, key)) return KNOWN[key];
  const k = key.toLowerCase();
  if (k.includes("rate_limit") || k.includes("rate limit")) return 429;
  if (k.includes("overload")) return 529;
  if (k.includes("context_length")) return "context";
  return undefined;
}

/**
 * The failure of an upstream error object: a Chat error chunk's `error`, a `response.failed`
 * event's `response.error`, or an `error` event (fields at the top level or under `error`,
 * with an optional HTTP `status`). Its code decides, else an HTTP status it carries, else its
 * type; anything unknown is a 502.
 */
export function failureOf(err: unknown, status?: unknown): UpstreamFailure {
  const e: Obj = err && typeof err === "object" ? err as Obj : {};
  const inner: Obj = e.error && typeof e.error === "object" ? e.error as Obj : e;
  const code = str(inner.code) ?? str(e.code);
  // An `error` event's own type ("error") says nothing about the failure.
  const type = [str(inner.type), str(e.type)].find((t) => t !== undefined && t !== "error");
  let message = (typeof err === "string" ? str(err) : undefined) ?? str(inner.message) ??
    str(e.message) ?? "the upstream reported an error";
  const given = httpStatus(status) ?? httpStatus(e.status) ?? httpStatus(inner.status_code) ??
    httpStatus(inner.code) ?? httpStatus(e.code);
  const k = known(code) ?? (given === undefined ? known(type) : undefined);
  let s: number;
  if (k === "context") {
    s = 400;
    // Claude Code recognises Anthropic's wording and offers to compact the conversation.
    message = `prompt is too long: ${message}`;
  } else if (k === "given-or-400") s = given ?? 400;
  else if (k !== undefined) s = k;
  else s = given ?? 502;
  const f: UpstreamFailure = { status: s, type: anthropicType(s), message };
  const named = code ?? type;
  if (named) f.code = named;
  const m = RETRY_IN.exec(message);
  if (m) f.retryAfterSeconds = Number(m[1]) / (m[2].toLowerCase() === "ms" ? 1000 : 1);
  else if (typeof inner.resets_in_seconds === "number") {
    f.retryAfterSeconds = inner.resets_in_seconds;
  }
  return f;
}

/** A stream that ended or broke before its answer: a 502 (the dispatcher fails over on it). */
export function brokenStream(message: string): UpstreamFailure {
  return { status: 502, type: "api_error", message };
}
