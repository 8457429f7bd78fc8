// The OpenAI Responses API adapter, for two provider types:
//  - "codex": a ChatGPT subscription through the Codex backend (chatgpt.com/backend-api/codex),
//    with the account's OAuth token and its ChatGPT-Account-ID;
//  - "openai-responses": OpenAI's public Responses API with an API key.
// The Anthropic request is translated (src/translate/responses/), POSTed to {base_url}/responses
// as a stream (the Codex backend only streams), and the stream is translated back as it arrives.
// A client that did not ask to stream gets the stream collected into one message. A usage limit
// marks the response for the dispatcher's quota hook (src/proxy/quota.ts). count_tokens is
// answered locally with the estimate.
import type { TokenRecord } from "../auth/types.ts";
import type { Candidate } from "./route_types.ts";
import type { ProviderAdapter, UpstreamRequest } from "./provider.ts";
import { errorResponse, errorType } from "./errors.ts";
import { oauthAccount, sendWithOAuth } from "./credentials.ts";
import { redactSecrets } from "./redact.ts";
import { estimateInputTokens } from "./estimate.ts";
import { applyProviderHeaders, clientCredential } from "./headers.ts";
import { chatgptAccountId, MissingAccountIdError } from "./chatgpt_account.ts";
import { codexUsageLimit } from "./codex_limits.ts";
import { exhaustedResponse, type Exhaustion, markExhausted, markSignals } from "./quota.ts";
import { collectBody, failureResponse, relayTransform } from "./relay.ts";
import { postUpstream as post } from "./upstream_post.ts";
import { VERSION } from "../version.ts";
import { validateRequest } from "../translate/validate.ts";
import { anthropicToResponses } from "../translate/responses/request.ts";
import { ResponsesStreamTranslator } from "../translate/responses/stream.ts";
import { ResponsesCollector } from "../translate/responses/collect.ts";
import type { UpstreamFailure } from "../translate/failure.ts";
import type { AnthropicRequest } from "../translate/types.ts";

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
};

/** Speaks OpenAI's Responses API (the Codex backend or the public API). */
export class ResponsesAdapter implements ProviderAdapter {
  async send(req: UpstreamRequest, cand: Candidate, signal: AbortSignal): Promise<Response> {
    // A malformed request is refused (InvalidRequestError → 400), never quietly rewritten.
    validateRequest(req.body, req.kind);
    if (req.kind === "count_tokens") {
      // The Responses API has no token count without generating: a local estimate.
      return Response.json({ input_tokens: estimateInputTokens(req.body) });
    }
    const p = cand.provider;
    const codex = p.provider_type.toLowerCase() === "codex";
    const body = req.body as AnthropicRequest;
    const t = anthropicToResponses(body, {
      model: cand.actual_model,
      target: codex ? "codex" : "public",
      maxOutputTokens: p.max_output_tokens,
    });
    const json = JSON.stringify(t.body);
    const url = `${p.base_url}/responses`;
    const timeouts = req.config.server.timeouts;

    /** What went upstream as the credential: masked in error messages. */
    let credential: string | undefined;
    const send = (cred: string | undefined, accountId?: string) => {
      credential = cred;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "accept": "text/event-stream",
        // ccmux's own identity: it never presents itself as the Codex CLI.
        "user-agent": `ccmux/${VERSION}`,
      };
      if (cred) headers["authorization"] = `Bearer ${cred}`;
      if (codex) {
        headers["originator"] = "ccmux";
        if (accountId) headers["chatgpt-account-id"] = accountId;
        // The backend ties its prompt cache to the conversation through this header.
        headers["session-id"] = t.cacheKey;
      }
      // The user's own headers come last: their choice, also over ccmux's.
      applyProviderHeaders(headers, p.headers);
      return post(url, headers, json, signal, timeouts);
    };
    let res: Response;
    if (p.auth_type === "oauth") {
      res = await sendWithOAuth(req, p, (record: TokenRecord) => {
        if (!codex) return send(record.api_key ?? record.access_token);
        const accountId = chatgptAccountId(record);
        if (!accountId) throw new MissingAccountIdError(oauthAccount(p));
        return send(record.access_token, accountId);
      });
    } else {
      res = await send(
        p.auth_type === "apikey"
          ? p.api_key ?? ""
          : clientCredential(req.headers, req.config.server.api_key)?.key,
      );
    }
    // The client's answer is ccmux's own: the quota signals are read from the upstream's headers.
    if (!res.ok) {
      return markSignals(await upstreamError(res, p.name, credential, codex), res.headers);
    }

    const out = new Headers(SSE_HEADERS);
    const requestId = res.headers.get("x-request-id") ?? res.headers.get("request-id");
    if (requestId) out.set("request-id", requestId);
    if (!(res.headers.get("content-type") ?? "").includes("text/event-stream")) {
      await res.body?.cancel().catch(() => {});
      return errorResponse(502, `${p.name}: the upstream answered without an event stream`);
    }
    const opts = {
      model: cand.actual_model,
      inputTokens: estimateInputTokens(req.body),
      toolNames: t.toolNames,
      upstreamName: p.name,
    };
    if (body.stream === true) {
      const outcome = await relayTransform(res, new ResponsesStreamTranslator(opts), out);
      if ("response" in outcome) return markSignals(outcome.response, res.headers);
      return failed(outcome.failure, p.name, credential, codex);
    }
    const collector = new ResponsesCollector(opts);
    await collectBody(res, collector);
    const result = collector.result();
    if ("failure" in result) return failed(result.failure, p.name, credential, codex);
    const headers = new Headers({ "content-type": "application/json" });
    if (requestId) headers.set("request-id", requestId);
    return markSignals(
      new Response(JSON.stringify(result.message), { status: 200, headers }),
      res.headers,
    );
  }
}

const USAGE_LIMIT = "the ChatGPT plan's usage limit has been reached";

/** An exhausted allowance: the client's 429, marked for the dispatcher's quota hook. */
function exhausted(provider: string, e: Exhaustion): Response {
  const what = e.window ? `${USAGE_LIMIT} (${e.window})` : USAGE_LIMIT;
  return markExhausted(exhaustedResponse(`${provider}: ${what}`, e.until), e);
}

/** A failure reported inside the stream before its first byte, as the client's error. */
function failed(
  f: UpstreamFailure,
  provider: string,
  credential: string | undefined,
  codex: boolean,
): Response {
  if (codex && f.code === "usage_limit_reached") {
    const until = Date.now() + (f.retryAfterSeconds ?? 3600) * 1000;
    return exhausted(provider, { until });
  }
  return failureResponse(f, provider, credential);
}

/** The longest wait for an error response's (small) body. */
const ERROR_BODY_TIMEOUT_MS = 5000;

/**
 * An upstream error answer as an Anthropic error with the same status (the dispatcher fails
 * over on 429 / 5xx; a 400, such as a retired model's, goes to the client as it is).
 */
async function upstreamError(
  res: Response,
  provider: string,
  credential: string | undefined,
  codex: boolean,
): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(resolve, ERROR_BODY_TIMEOUT_MS, "");
  });
  const text = await Promise.race([res.text().catch(() => ""), late]);
  clearTimeout(timer);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (codex) {
    const e = codexUsageLimit(res.status, res.headers, parsed);
    if (e) return exhausted(provider, e);
  }
  let message = errorMessage(parsed) || text.trim().slice(0, 2000) || `HTTP ${res.status}`;
  message = redactSecrets(message, credential);
  const out = errorResponse(res.status, `${provider}: ${message}`, errorType(res.status));
  const retryAfter = res.headers.get("retry-after");
  if (retryAfter) out.headers.set("retry-after", retryAfter);
  const requestId = res.headers.get("x-request-id") ?? res.headers.get("request-id");
  if (requestId) out.headers.set("request-id", requestId);
  return out;
}

/** `{"detail": …}` (the Codex backend), `{"error": {"message": …}}`, or an error event's shape. */
function errorMessage(v: unknown): string {
  if (!v || typeof v !== "object") return typeof v === "string" ? v : "";
  const o = v as Record<string, unknown>;
  if (typeof o.detail === "string") return o.detail;
  const e = o.error;
  if (typeof e === "string") return e;
  if (e && typeof e === "object") {
    const m = (e as Record<string, unknown>).message;
    if (typeof m === "string") return m;
  }
  return typeof o.message === "string" ? o.message : "";
}
