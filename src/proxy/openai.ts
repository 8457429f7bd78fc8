// The OpenAI-compatible upstream adapter: the Anthropic request is translated to Chat
// Completions (src/translate/), sent to {base_url}/chat/completions, and the answer (JSON or
// SSE) is translated back, streaming as it arrives (proxy/relay.ts: an error chunk before the
// first content is an error status, so the dispatcher can fail over). count_tokens is answered
// locally.
import { Buffer } from "node:buffer";
import type { Candidate } from "./route_types.ts";
import type { ProviderAdapter, UpstreamRequest } from "./provider.ts";
import { errorResponse, errorType } from "./errors.ts";
import { sendWithOAuth } from "./credentials.ts";
import { redactSecrets } from "./redact.ts";
import { estimateInputTokens } from "./estimate.ts";
import { failureResponse, relayTransform } from "./relay.ts";
import { applyProviderHeaders, clientCredential } from "./headers.ts";
import type { CredentialPolicy } from "./credential_policy.ts";
import { takeRawBody } from "../runtime/http_client.ts";
import { postUpstream as post } from "./upstream_post.ts";
import { anthropicToOpenAI } from "../translate/request.ts";
import { ChatJsonWriter } from "../translate/chat_json.ts";
import { openAIToAnthropic } from "../translate/response.ts";
import { validateRequest } from "../translate/validate.ts";
import { messageEvents } from "../translate/anthropic_writer.ts";
import { ChatStreamTranslator } from "../translate/stream.ts";
import type {
  AnthropicRequest,
  OpenAIChatRequest,
  OpenAIChatResponse,
} from "../translate/types.ts";

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
};

/** Speaks OpenAI's Chat Completions API to OpenAI-compatible upstreams. */
export class OpenAIAdapter implements ProviderAdapter {
  /**
   * What 400 answers taught about a provider's model ("provider\0model"): it rejects
   * reasoning_effort, or its output limit. Later requests are sent corrected at once instead
   * of paying a failed round trip each time (Claude Code asks for reasoning on every turn).
   */
  #learned = new Map<string, { noReasoning?: boolean; maxTokens?: number }>();
  /** Reuses the JSON text of tools and messages sent before (src/translate/chat_json.ts). */
  #json = new ChatJsonWriter();

  /** `policy`, when given, replaces the provider's auth_type handling (credentials and base URL). */
  constructor(readonly policy?: CredentialPolicy) {}

  async send(req: UpstreamRequest, cand: Candidate, signal: AbortSignal): Promise<Response> {
    // A malformed request is refused (InvalidRequestError → 400), never quietly rewritten.
    validateRequest(req.body, req.kind);
    if (req.kind === "count_tokens") {
      // No OpenAI-compatible API counts tokens without generating: a local estimate.
      return Response.json({ input_tokens: estimateInputTokens(req.body) });
    }
    const p = cand.provider;
    const body = req.body as AnthropicRequest;
    const stream = body.stream === true;
    const chat = anthropicToOpenAI(body, {
      model: cand.actual_model,
      maxCompletionTokens: p.max_completion_tokens,
      maxOutputTokens: p.max_output_tokens,
    });
    const key = `${p.name}\0${cand.actual_model}`;
    const learned = this.#learned.get(key);
    if (learned) applyLearned(chat, learned);
    const headers: Record<string, string> = {};
    applyProviderHeaders(headers, p.headers);
    headers["content-type"] = "application/json";
    headers["accept"] = stream ? "text/event-stream" : "application/json";
    let url = `${p.base_url}/chat/completions`;
    const timeouts = req.config.server.timeouts;

    // apikey → the provider's key; passthrough → the client's own (never ccmux's server key);
    // oauth → the account's token or API key, refreshed once after a 401.
    let credential: string | undefined;
    const send = (cred: string | undefined) => {
      credential = cred;
      if (cred) headers["authorization"] = `Bearer ${cred}`;
      return post(url, headers, this.#json.stringify(chat), signal, timeouts);
    };
    let res = this.policy
      ? await this.policy.send(req, cand, (t) => {
        url = `${t.base}/chat/completions`;
        Object.assign(headers, t.headers);
        applyProviderHeaders(headers, p.headers);
        credential = t.credential;
        return post(url, headers, this.#json.stringify(chat), signal, timeouts);
      })
      : p.auth_type === "oauth"
      ? await sendWithOAuth(req, p, (record) => send(record.api_key ?? record.access_token))
      : await send(
        p.auth_type === "apikey"
          ? p.api_key ?? ""
          : clientCredential(req.headers, req.config.server.api_key)?.key,
      );
    // Up to two corrections of a 400 that names a parameter this model does not take.
    for (let attempt = 0; attempt < 2 && res.status === 400; attempt++) {
      const text = await res.text().catch(() => "");
      const fixed = correctRequest(chat, text);
      if (!fixed) return upstreamError(400, res.headers, text, p.name, credential);
      const l = this.#learned.get(key) ?? {};
      if (fixed === "reasoning") l.noReasoning = true;
      else l.maxTokens = chat.max_completion_tokens ?? chat.max_tokens;
      this.#learned.set(key, l);
      res = await post(url, headers, this.#json.stringify(chat), signal, timeouts);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      return upstreamError(res.status, res.headers, text, p.name, credential);
    }

    const out = new Headers(stream ? SSE_HEADERS : { "content-type": "application/json" });
    const requestId = res.headers.get("x-request-id") ?? res.headers.get("request-id");
    if (requestId) out.set("request-id", requestId);
    const isSse = (res.headers.get("content-type") ?? "").includes("text/event-stream");
    if (stream && isSse) {
      // Answered once the first content arrives (a failure before it is an error status the
      // dispatcher fails over on); on Node a raw body, no web stream on either side.
      const t = new ChatStreamTranslator({
        model: cand.actual_model,
        inputTokens: estimateInputTokens(req.body),
      });
      const outcome = await relayTransform(res, t, out);
      if ("response" in outcome) return outcome.response;
      return failureResponse(outcome.failure, p.name, credential);
    }
    // A JSON answer (asked for, or sent although a stream was asked for).
    let parsed: OpenAIChatResponse & { error?: unknown };
    try {
      parsed = JSON.parse(await bodyText(res));
    } catch {
      return errorResponse(502, `ccmux: ${p.name} sent a response that is not JSON`);
    }
    if (!parsed || typeof parsed !== "object" || !Array.isArray(parsed.choices)) {
      const msg = parsed && typeof parsed === "object" && parsed.error
        ? errorMessage(parsed.error)
        : "no choices in the response";
      return errorResponse(502, `${p.name}: ${redactSecrets(msg, credential)}`);
    }
    const msg = openAIToAnthropic(parsed, { model: cand.actual_model });
    if (stream) return new Response(messageEvents(msg), { status: 200, headers: out });
    return new Response(JSON.stringify(msg), { status: 200, headers: out });
  }
}

/** The response body as text; on Node read straight from node:http, without a web stream. */
function bodyText(res: Response): Promise<string> {
  const raw = takeRawBody(res);
  if (!raw) return res.text();
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    raw.start({
      data: (chunk) => chunks.push(chunk),
      end: () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text); // as res.text() does
      },
      error: reject,
    });
  });
}

function applyLearned(
  chat: OpenAIChatRequest,
  l: { noReasoning?: boolean; maxTokens?: number },
): void {
  if (l.noReasoning) delete chat.reasoning_effort;
  if (l.maxTokens === undefined) return;
  if (chat.max_completion_tokens !== undefined && chat.max_completion_tokens > l.maxTokens) {
    chat.max_completion_tokens = l.maxTokens;
  }
  if (chat.max_tokens !== undefined && chat.max_tokens > l.maxTokens) chat.max_tokens = l.maxTokens;
}

/**
 * Edits `chat` after a 400 that rejects something ccmux added, and says whether to retry:
 * `reasoning_effort` on a model without reasoning (dropped), or a max_tokens above the
 * model's limit when the error names the limit ("at most 16384", "<= 8192", ...).
 * Returns what it corrected, or false when the error is not one of those.
 */
export function correctRequest(
  chat: OpenAIChatRequest,
  errorText: string,
): "reasoning" | "max_tokens" | false {
  if (chat.reasoning_effort !== undefined && /reasoning/i.test(errorText)) {
    delete chat.reasoning_effort;
    return "reasoning";
  }
  const field = chat.max_completion_tokens !== undefined ? "max_completion_tokens" : "max_tokens";
  const current = chat[field];
  if (
    current !== undefined &&
    /max_(completion_)?tokens|maximum context|output tokens/i.test(errorText)
  ) {
    const m =
      /(?:at most|maximum(?: value)?(?: of| is)?|less than or equal to|<=|up to)\s*`?(\d{3,7})/i
        .exec(errorText);
    const limit = m ? Number(m[1]) : NaN;
    if (limit > 0 && limit < current) {
      chat[field] = limit;
      return "max_tokens";
    }
  }
  return false;
}

/** An upstream error as an Anthropic error with the same status (failover acts on it). */
function upstreamError(
  status: number,
  upstream: Headers,
  text: string,
  provider: string,
  credential: string | undefined,
): Response {
  let message = text.trim().slice(0, 2000);
  try {
    const parsed = JSON.parse(text);
    message = errorMessage(parsed?.error ?? parsed);
  } catch {
    // not JSON: keep the text
  }
  if (!message) message = `HTTP ${status}`;
  const res = errorResponse(
    status,
    `${provider}: ${redactSecrets(message, credential)}`,
    errorType(status),
  );
  const retryAfter = upstream.get("retry-after");
  if (retryAfter) res.headers.set("retry-after", retryAfter);
  const requestId = upstream.get("x-request-id") ?? upstream.get("request-id");
  if (requestId) res.headers.set("request-id", requestId);
  return res;
}

function errorMessage(e: unknown): string {
  if (typeof e === "string") return e;
  if (e && typeof e === "object") {
    const m = (e as Record<string, unknown>).message;
    if (typeof m === "string") return m;
    if (m && typeof m === "object") return JSON.stringify(m);
  }
  return "";
}
