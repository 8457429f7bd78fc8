// One refresh_token grant through oauth4webapi, adapted to the kinds' servers: the anthropic
// and openai token endpoints take JSON bodies and may omit token_type. Error messages name the
// server and the OAuth error code, never a token.
import type { ResolvedOAuth } from "./kinds.ts";
import { isLoopbackHost } from "../config/validate.ts";
import { describeError } from "../errors.ts";
import { noRedirects, RedirectRefusedError } from "./no_redirect.ts";

/** The server could not be reached or failed; stored tokens are untouched. */
export class RefreshError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RefreshError";
  }
}

/** Fields of a successful token response that ccmux keeps. */
export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  id_token?: string;
  token_type?: string;
}

/**
 * `rotated`: the server answered 200 with a new refresh token but the response failed
 * validation; the old refresh token is spent, so the caller keeps the new one.
 */
export type RefreshResult =
  | { tokens: TokenResponse }
  | { dead: string }
  | { error: RefreshError; rotated?: string };

/** OAuth error codes that mean the refresh token will never work again. */
const DEAD_CODES = new Set([
  "invalid_grant",
  "refresh_token_reused",
  "refresh_token_expired",
  "refresh_token_invalidated",
  // GitHub
  "bad_refresh_token",
]);

/** A JSON object with a string `error` and no `access_token` (an error, whatever the status). */
function isErrorBody(text: string): boolean {
  try {
    const j = JSON.parse(text);
    return !!j && typeof j === "object" && typeof j.error === "string" && !("access_token" in j);
  } catch {
    return false;
  }
}

const TIMEOUT_MS = 30_000;

/** True for http:// URLs that stay on this machine (test stubs, local servers). */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === "http:" && isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ""));
}

/** Spends `refreshToken` once at `oauth`'s token endpoint. */
export async function postRefresh(
  oauth: ResolvedOAuth,
  refreshToken: string,
  anyFetch: typeof fetch,
): Promise<RefreshResult> {
  const o = await import("oauth4webapi");
  const fetchFn = noRedirects(anyFetch);
  let tokenUrl: URL;
  try {
    tokenUrl = new URL(await tokenEndpoint(oauth, fetchFn, o));
  } catch (e) {
    return { error: e instanceof RefreshError ? e : new RefreshError(String(e)) };
  }
  const as = { issuer: oauth.issuer ?? tokenUrl.origin, token_endpoint: tokenUrl.href };
  const client = { client_id: oauth.client_id };
  let captured: { status: number; body: string } | undefined;
  let unverifiedIdToken: string | undefined;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const customFetch = async (url: string, init: RequestInit): Promise<Response> => {
    const headers = new Headers(init.headers);
    let body = init.body;
    if (oauth.refresh_body === "json" && body instanceof URLSearchParams) {
      body = JSON.stringify(Object.fromEntries(body));
      headers.set("content-type", "application/json");
    }
    const res = await fetchFn(url, { ...init, headers, body, signal: controller.signal });
    const text = await res.text();
    // GitHub answers token errors with HTTP 200 and an `error` member: taken as the 400 it means.
    const status = res.status === 200 && isErrorBody(text) ? 400 : res.status;
    captured = { status, body: text };
    if (status !== res.status) {
      return new Response(text, { status, headers: { "content-type": "application/json" } });
    }
    let patched = text;
    if (res.status === 200) {
      // oauth4webapi requires token_type; the anthropic servers leave it out (it is bearer).
      try {
        const json = JSON.parse(text);
        if (json && typeof json === "object") {
          const copy = { ...json, token_type: json.token_type ?? "bearer" };
          // Without a known issuer an id_token cannot be checked (its iss would be compared
          // with a made-up one): keep it aside instead of failing the refresh.
          if (!oauth.issuer && typeof copy.id_token === "string") {
            unverifiedIdToken = copy.id_token;
            delete copy.id_token;
          }
          patched = JSON.stringify(copy);
        }
      } catch { /* oauth4webapi reports the invalid body */ }
    }
    const h = new Headers(res.headers);
    h.delete("content-length");
    h.delete("content-encoding");
    if (res.status === 200 && !h.get("content-type")) h.set("content-type", "application/json");
    return new Response(patched, { status: res.status, statusText: res.statusText, headers: h });
  };
  const options = {
    [o.customFetch]: customFetch,
    [o.allowInsecureRequests]: isLoopbackHttp(tokenUrl),
  };
  const where = tokenUrl.origin;
  try {
    const response = await o.refreshTokenGrantRequest(
      as,
      client,
      o.None(),
      refreshToken,
      options,
    );
    if (response.status !== 200) return classify(captured, where);
    const tokens = await o.processRefreshTokenResponse(as, client, response);
    const result = { ...tokens } as unknown as TokenResponse;
    if (unverifiedIdToken) result.id_token = unverifiedIdToken;
    return { tokens: result };
  } catch (e) {
    if (captured && captured.status !== 200) return classify(captured, where);
    if (e instanceof RedirectRefusedError) {
      return { error: new RefreshError(`refresh failed: ${e.message}`) };
    }
    if (!captured) {
      const why = controller.signal.aborted
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : describeError(e);
      return { error: new RefreshError(`cannot reach ${where} to refresh: ${why}`, { cause: e }) };
    }
    return {
      error: new RefreshError(`invalid token response from ${where}: ${describeError(e)}`),
      rotated: rotatedRefreshToken(captured.body),
    };
  } finally {
    clearTimeout(timer);
  }
}

function rotatedRefreshToken(body: string): string | undefined {
  try {
    const rt = JSON.parse(body)?.refresh_token;
    return typeof rt === "string" && rt ? rt : undefined;
  } catch {
    return undefined;
  }
}

function classify(captured: { status: number; body: string } | undefined, where: string) {
  const status = captured?.status ?? 0;
  const { code, description } = oauthError(captured?.body ?? "");
  if ((status === 400 || status === 401) && code && DEAD_CODES.has(code)) {
    return { dead: description ? `${code}: ${description}` : code };
  }
  const detail = code
    ? `${code}${description ? `: ${description}` : ""} (HTTP ${status})`
    : `HTTP ${status}`;
  return { error: new RefreshError(`refresh failed at ${where}: ${detail}`) };
}

/** `{error, error_description}` (RFC 6749) or OpenAI's `{error: {code, message}}`. */
function oauthError(body: string): { code?: string; description?: string } {
  try {
    const j = JSON.parse(body);
    if (typeof j?.error === "string") {
      return { code: j.error, description: short(j.error_description) };
    }
    if (j?.error && typeof j.error === "object") {
      const code = typeof j.error.code === "string" ? j.error.code : j.error.type;
      return {
        code: typeof code === "string" ? code : undefined,
        description: short(j.error.message),
      };
    }
    if (typeof j?.code === "string") return { code: j.code, description: short(j.message) };
  } catch { /* not JSON */ }
  return {};
}

function short(v: unknown): string | undefined {
  if (typeof v !== "string" || !v) return undefined;
  return v.length > 200 ? v.slice(0, 200) + "…" : v;
}

/** The token endpoint: configured, or discovered from the oidc issuer. */
async function tokenEndpoint(
  oauth: ResolvedOAuth,
  fetchFn: typeof fetch,
  o: typeof import("oauth4webapi"),
): Promise<string> {
  if (oauth.token_url) return oauth.token_url;
  if (!oauth.issuer) {
    throw new RefreshError(`no token endpoint for '${oauth.id}': set [oauth.${oauth.id}] issuer`);
  }
  const issuer = new URL(oauth.issuer);
  const opts = {
    [o.customFetch]: fetchFn,
    [o.allowInsecureRequests]: isLoopbackHttp(issuer),
  };
  try {
    const as = await o.processDiscoveryResponse(issuer, await o.discoveryRequest(issuer, opts));
    if (!as.token_endpoint) throw new Error("the issuer lists no token_endpoint");
    return as.token_endpoint;
  } catch (e) {
    throw new RefreshError(`discovery at ${issuer.origin} failed: ${describeError(e)}`, {
      cause: e,
    });
  }
}
