// The Anthropic upstream adapter: the body goes up unchanged except `model`, the provider's
// credentials replace the client's, and the upstream response comes back as it is.
import { Buffer } from "node:buffer";
import type { Candidate } from "./route_types.ts";
import type { ProviderAdapter, UpstreamRequest } from "./provider.ts";
import {
  applyProviderHeaders,
  clientCredential,
  editBetas,
  forwardHeaders,
  OAUTH_BETA,
} from "./headers.ts";
import { sendWithOAuth } from "./credentials.ts";
import { errorResponse, errorType } from "./errors.ts";
import { redactSecrets } from "./redact.ts";
import { upstreamFetch as fetch } from "../runtime/http_client.ts";
import { mayHaveForeignThinking, withoutForeignThinking } from "./foreign_thinking.ts";
import type { CredentialPolicy } from "./credential_policy.ts";

const MODEL_KEY = Buffer.from('"model"');

/**
 * The request body for `model`. Byte-exact when possible: the top-level `"model": "<orig>"`
 * pair is replaced in place when it is the only such pair in the text (in valid JSON a raw
 * `"model"` followed by `:` is always a key, never string content). Otherwise re-serialised.
 * A scanned body (`modelRange`) comes back as pieces around the new value, to be sent as they are.
 */
export function bodyWithModel(req: UpstreamRequest, model: string): Uint8Array | Uint8Array[] {
  const range = req.modelRange;
  if (range && !req.bodyChanged) {
    // Scanned, not parsed: the top-level value's place is known.
    const value = Buffer.from(JSON.stringify(model));
    const raw = req.raw;
    if (
      value.byteLength === range.end - range.start &&
      value.equals(raw.subarray(range.start, range.end))
    ) {
      return raw;
    }
    // Three views sent back to back: no copy of the (large) rest of the body.
    return [raw.subarray(0, range.start), value, raw.subarray(range.end)];
  }
  const orig = req.body.model;
  if (req.bodyChanged || typeof orig !== "string") {
    return Buffer.from(JSON.stringify({ ...req.body, model }));
  }
  if (orig === model) return req.raw;
  const buf = Buffer.from(req.raw.buffer, req.raw.byteOffset, req.raw.byteLength);
  const want = JSON.stringify(orig);
  let found = -1;
  let end = -1;
  for (let at = buf.indexOf(MODEL_KEY); at !== -1; at = buf.indexOf(MODEL_KEY, at + 7)) {
    let i = at + 7;
    while (isSpace(buf[i])) i++;
    if (buf[i] !== 0x3a /* : */) continue;
    i++;
    while (isSpace(buf[i])) i++;
    if (buf[i] !== 0x22 /* " */ || buf.toString("utf8", i, i + Buffer.byteLength(want)) !== want) {
      continue;
    }
    if (found !== -1) {
      found = -2; // two "model":"orig" pairs: cannot tell which is top-level
      break;
    }
    found = i;
    end = i + Buffer.byteLength(want);
  }
  if (found < 0) return Buffer.from(JSON.stringify({ ...req.body, model }));
  return Buffer.concat([
    buf.subarray(0, found),
    Buffer.from(JSON.stringify(model)),
    buf.subarray(end),
  ]);
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** `base_url` + /v1/messages[/count_tokens] + the client's query string. */
export function upstreamUrl(
  baseUrl: string,
  kind: UpstreamRequest["kind"],
  search: string,
): string {
  return `${baseUrl}/v1/messages${kind === "count_tokens" ? "/count_tokens" : ""}${search}`;
}

/** Speaks Anthropic's Messages API to Anthropic-compatible upstreams. */
export class AnthropicAdapter implements ProviderAdapter {
  /** `policy`, when given, replaces the provider's auth_type handling (credentials and base URL). */
  constructor(readonly policy?: CredentialPolicy) {}

  async send(req: UpstreamRequest, cand: Candidate, signal: AbortSignal): Promise<Response> {
    const p = cand.provider;
    const passthrough = p.auth_type === "passthrough"
      ? clientCredential(req.headers, req.config.server.api_key)
      : undefined;
    const headers = forwardHeaders(req.headers, passthrough, req.rawHeaders);
    applyProviderHeaders(headers, p.headers);
    headers["content-type"] = "application/json";
    let url = upstreamUrl(p.base_url, req.kind, req.search);
    // Thinking of other families (a failover from Codex) is dropped; otherwise byte-exact.
    const cleaned = mayHaveForeignThinking(req.raw) ? withoutForeignThinking(req.body) : undefined;
    const body = cleaned
      ? Buffer.from(JSON.stringify({ ...cleaned, model: cand.actual_model }))
      : bodyWithModel(req, cand.actual_model);
    // The connection and the silences within the body are bounded here; the wait for the
    // response headers may take long (a cold model load): the dispatcher's api_timeout_ms.
    const { connect_timeout_ms: connectTimeoutMs, idle_timeout_ms: idleTimeoutMs } =
      req.config.server.timeouts;

    // The client's OAuth beta (Claude Code signed in with a subscription) must not go with an
    // API key: ccmux swapped the credentials, so it swaps the beta too.
    const apiKeyBetas = [...cand.strip_specific_beta, OAUTH_BETA];
    /** What went upstream as the credential: masked in a relayed error body. */
    let credential: string | undefined;
    // `headers` is edited in place before each call (credentials, betas).
    const send = () =>
      fetch(url, { method: "POST", headers, body, signal, connectTimeoutMs, idleTimeoutMs });
    let res: Response;
    if (this.policy) {
      // Not Anthropic's OAuth: its beta goes, and the policy sets the credential.
      editBetas(headers, cand.strip_beta_options, apiKeyBetas);
      res = await this.policy.send(req, cand, (t) => {
        url = upstreamUrl(t.base, req.kind, req.search);
        Object.assign(headers, t.headers);
        applyProviderHeaders(headers, p.headers);
        credential = t.credential;
        return send();
      });
    } else if (p.auth_type === "apikey") {
      editBetas(headers, cand.strip_beta_options, apiKeyBetas);
      headers["x-api-key"] = credential = p.api_key ?? "";
      res = await send();
    } else if (p.auth_type === "passthrough") {
      editBetas(headers, cand.strip_beta_options, cand.strip_specific_beta);
      credential = passthrough?.key;
      res = await send();
    } else {
      // OAuth: the account's token (or an anthropic-console account's API key, an ordinary key).
      res = await sendWithOAuth(req, p, (record) => {
        if (record.api_key) {
          editBetas(headers, cand.strip_beta_options, apiKeyBetas);
          headers["x-api-key"] = credential = record.api_key;
        } else {
          editBetas(headers, cand.strip_beta_options, cand.strip_specific_beta, OAUTH_BETA);
          credential = record.access_token;
          headers["authorization"] = `Bearer ${credential}`;
        }
        return send();
      });
    }
    return res.status >= 400 ? redactedError(res, credential, p.name) : res;
  }
}

/** The longest wait for an error response's (small) body. */
const ERROR_BODY_TIMEOUT_MS = 5000;
const UTF8 = new TextDecoder();

/**
 * An upstream error response with the credential ccmux sent (and anything key-shaped) masked in
 * its body: some compatible APIs quote the key they rejected. Status and headers are kept; a body
 * without a secret is passed on byte for byte. A body that does not arrive within 5 s is
 * replaced by ccmux's own error of the same status.
 */
async function redactedError(
  res: Response,
  credential: string | undefined,
  provider: string,
): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ERROR_BODY_TIMEOUT_MS, undefined);
  });
  const read = res.arrayBuffer().then((b) => new Uint8Array(b), () => new Uint8Array(0));
  const bytes = await Promise.race([read, late]);
  clearTimeout(timer);
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  if (!bytes) {
    res.body?.cancel().catch(() => {});
    return errorResponse(
      res.status,
      `${provider}: HTTP ${res.status} (the error body did not arrive)`,
      errorType(res.status),
    );
  }
  const text = UTF8.decode(bytes);
  const clean = redactSecrets(text, credential);
  return new Response(clean === text ? bytes as BodyInit : clean, {
    status: res.status,
    statusText: res.statusText,
    headers,
  });
}
