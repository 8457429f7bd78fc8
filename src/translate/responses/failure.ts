// An upstream failure reported inside a Responses stream (`response.failed`, an `error`
// event, or a stream that ends before `response.completed`), as the HTTP status and Anthropic
// error type the client should see. Before the first byte the caller answers with it (and the
// dispatcher may fail over on 429/5xx); after it, the stream ends with an Anthropic error event.

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

function anthropicType(status: number): string {
  if (status === 400 || status === 404 || status === 422) return "invalid_request_error";
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 503 || status === 529) return "overloaded_error";
  return "api_error";
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * The failure of a `response.failed` event's `response.error`, or of an `error` event (whose
 * fields are at the top level or under `error`, with an optional HTTP `status`).
 */
export function failureOf(err: unknown, status?: unknown): UpstreamFailure {
  const e: Obj = err && typeof err === "object" ? err as Obj : {};
  const inner: Obj = e.error && typeof e.error === "object" ? e.error as Obj : e;
  const code = str(inner.code) ?? str(inner.type) ?? str(e.code);
  let message = str(inner.message) ?? str(e.message) ?? "the upstream reported an error";
  const given = typeof status === "number"
    ? status
    : typeof e.status === "number"
    ? e.status
    : typeof inner.status_code === "number"
    ? inner.status_code
    : undefined;
  let s: number;
  switch (code) {
    case "rate_limit_exceeded":
    case "usage_limit_reached":
    case "usage_not_included":
    case "insufficient_quota":
      s = 429;
      break;
    case "context_length_exceeded":
    case "context_too_large":
      s = 400;
      // Claude Code recognises Anthropic's wording and offers to compact the conversation.
      message = `prompt is too long: ${message}`;
      break;
    case "server_is_overloaded":
    case "slow_down":
      s = 529;
      break;
    case "invalid_prompt":
    case "invalid_request_error":
    case "invalid_encrypted_content":
    case "cyber_policy":
      s = given ?? 400;
      break;
    default:
      s = given !== undefined && given >= 400 ? given : 502;
  }
  const f: UpstreamFailure = { status: s, type: anthropicType(s), message };
  if (code) f.code = code;
  const m = RETRY_IN.exec(message);
  if (m) f.retryAfterSeconds = Number(m[1]) / (m[2].toLowerCase() === "ms" ? 1000 : 1);
  else if (typeof inner.resets_in_seconds === "number") {
    f.retryAfterSeconds = inner.resets_in_seconds;
  }
  return f;
}
