// One OAuth 2.0 authorization-code + PKCE S256 exchange on oauth4webapi, with the adjustments
// the built-in kinds need (JSON token bodies for Anthropic, a missing token_type taken as bearer).
import * as oauth from "oauth4webapi";
import type { ResolvedOAuth } from "./kinds.ts";
import { isLoopbackHost } from "../config/mod.ts";
import { noRedirects, RedirectRefusedError } from "./no_redirect.ts";

type Fetch = typeof fetch;

/** Per request to the authorization server: a hung server must not hang the sign-in. */
export const NETWORK_TIMEOUT_MS = 60_000;

/** A sign-in failure with a message fit for the terminal (never a secret). */
export class LoginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoginError";
  }
}

/** One sign-in attempt: the server's metadata and this attempt's PKCE verifier and state. */
export interface PkceSession {
  resolved: ResolvedOAuth;
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  verifier: string;
  challenge: string;
  /** Its own random value, never the verifier. */
  state: string;
  fetch: Fetch;
}

/** Throws unless `url` is https, or http on a loopback host (local test servers). */
export function checkEndpoint(url: string | undefined, what: string): URL {
  if (!url) throw new LoginError(`no ${what} is configured`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LoginError(`${what} "${url}" is not a valid URL`);
  }
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (u.protocol === "https:" || (u.protocol === "http:" && isLoopbackHost(host))) return u;
  throw new LoginError(`${what} "${url}" must be https:// (http:// only for loopback hosts)`);
}

/** True when oauth4webapi must be told to allow a plain-http (loopback) endpoint. */
export function insecure(url: string | undefined): boolean {
  return url !== undefined && url.startsWith("http:");
}

/** The authorization server's metadata: discovered for oidc, else from the resolved config. */
export async function authorizationServer(
  r: ResolvedOAuth,
  fetchFn: Fetch = fetch,
): Promise<oauth.AuthorizationServer> {
  if (r.kind === "oidc" && r.issuer) {
    const issuer = checkEndpoint(r.issuer, "issuer");
    const discovered = await discover(issuer, fetchFn);
    const as: oauth.AuthorizationServer = {
      ...discovered,
      authorization_endpoint: r.authorize_url ?? discovered.authorization_endpoint,
      token_endpoint: r.token_url ?? discovered.token_endpoint,
    };
    checkEndpoint(as.authorization_endpoint, "authorization endpoint");
    checkEndpoint(as.token_endpoint, "token endpoint");
    return as;
  }
  const token = checkEndpoint(r.token_url, "token_url");
  // A device-only server (device_authorization_url and token_url) needs no authorize URL.
  if (r.authorize_url || !r.device_authorization_url) {
    checkEndpoint(r.authorize_url, "authorize_url");
  }
  // Without discovery the issuer only matters for id_token `iss` checks (openai sets it).
  const issuer = r.issuer
    ? checkEndpoint(r.issuer, "issuer").href.replace(/\/$/, "")
    : token.origin;
  return { issuer, authorization_endpoint: r.authorize_url, token_endpoint: r.token_url };
}

async function discover(issuer: URL, fetchFn: Fetch): Promise<oauth.AuthorizationServer> {
  const opts = {
    [oauth.customFetch]: fetchFn,
    [oauth.allowInsecureRequests]: insecure(issuer.href),
  };
  let lastError: unknown;
  // OpenID Connect discovery first, then RFC 8414 (plain OAuth servers).
  for (const algorithm of ["oidc", "oauth2"] as const) {
    try {
      const res = await oauth.discoveryRequest(issuer, { ...opts, algorithm });
      return await oauth.processDiscoveryResponse(issuer, res);
    } catch (e) {
      lastError = e;
    }
  }
  throw new LoginError(`discovery from ${issuer.href} failed: ${describeError(lastError)}`);
}

/** Starts a sign-in: server metadata, PKCE verifier and S256 challenge, random state. */
export async function startSession(
  r: ResolvedOAuth,
  anyFetch: Fetch = fetch,
): Promise<PkceSession> {
  if (!r.client_id) throw new LoginError(`no client_id is configured for '${r.id}'`);
  // Every request of the sign-in (discovery, code exchange, API key) refuses redirects.
  const fetchFn = noRedirects(anyFetch);
  const as = await authorizationServer(r, fetchFn);
  const verifier = oauth.generateRandomCodeVerifier();
  return {
    resolved: r,
    as,
    client: { client_id: r.client_id },
    verifier,
    challenge: await oauth.calculatePKCECodeChallenge(verifier),
    state: oauth.generateRandomState(),
    fetch: fetchFn,
  };
}

/** The URL the user opens to sign in, sending the server back to `redirectUri`. */
export function authorizeUrl(s: PkceSession, redirectUri: string): string {
  const url = new URL(s.as.authorization_endpoint!);
  const { code, ...extra } = s.resolved.authorize_params;
  // Anthropic's clients send code=true first; keep that order.
  if (code !== undefined) url.searchParams.set("code", code);
  url.searchParams.set("client_id", s.client.client_id);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("scope", s.resolved.scopes.join(" "));
  url.searchParams.set("code_challenge", s.challenge);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("state", s.state);
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return url.href;
}

/**
 * Checks the authorization response (state first: a wrong state never reaches the token
 * endpoint; then `error=`), exchanges the code with PKCE and validates the token response
 * (id_token claims when present).
 */
export async function exchangeCode(
  s: PkceSession,
  response: URLSearchParams,
  redirectUri: string,
): Promise<oauth.TokenEndpointResponse> {
  let params: URLSearchParams;
  // A refusal without a state (a pasted `…/callback?error=access_denied`, typed at this very
  // terminal): report the refusal itself. Nothing is exchanged either way. The callback server
  // never hands over a reply without this sign-in's state.
  const error = response.get("error");
  if (error !== null && !response.has("state")) {
    const desc = response.get("error_description");
    throw new LoginError(
      `the authorization server refused the sign-in: ${error}${desc ? ` (${desc})` : ""}`,
    );
  }
  const checked = new URLSearchParams(response);
  // RFC 9207 `iss` can only be checked against an issuer we know (oidc, openai, or configured);
  // the anthropic kinds have none, so a stray `iss` there must not fail the sign-in.
  if (!s.resolved.issuer) checked.delete("iss");
  try {
    params = oauth.validateAuthResponse(s.as, s.client, checked, s.state);
  } catch (e) {
    throw new LoginError(describeError(e));
  }
  return await grantCode(s, params, redirectUri, s.verifier, s.state);
}

/**
 * Exchanges an authorization code the server handed over directly, with the PKCE verifier it
 * chose (OpenAI's device sign-in): no redirect reached ccmux, so there is no state to check.
 */
export async function exchangeIssuedCode(
  s: PkceSession,
  code: string,
  verifier: string,
  redirectUri: string,
): Promise<oauth.TokenEndpointResponse> {
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(
      s.as,
      s.client,
      new URLSearchParams({ code }),
      oauth.skipStateCheck,
    );
  } catch (e) {
    throw new LoginError(describeError(e));
  }
  return await grantCode(s, params, redirectUri, verifier, undefined);
}

async function grantCode(
  s: PkceSession,
  params: URLSearchParams,
  redirectUri: string,
  verifier: string,
  state: string | undefined,
): Promise<oauth.TokenEndpointResponse> {
  const json = s.resolved.body === "json";
  try {
    const res = await oauth.authorizationCodeGrantRequest(
      s.as,
      s.client,
      oauth.None(),
      params,
      redirectUri,
      verifier,
      {
        [oauth.customFetch]: tokenFetch(s.fetch, json),
        [oauth.allowInsecureRequests]: insecure(s.as.token_endpoint),
        signal: () => AbortSignal.timeout(NETWORK_TIMEOUT_MS),
        // Anthropic's token endpoint wants the state in the body too.
        additionalParameters: json && state ? { state } : undefined,
      },
    );
    return await oauth.processAuthorizationCodeResponse(s.as, s.client, res);
  } catch (e) {
    throw new LoginError(describeError(e));
  }
}

/** The validated id_token claims of a processed token response, if it had one. */
export function idTokenClaims(t: oauth.TokenEndpointResponse): oauth.IDToken | undefined {
  return oauth.getValidatedIdTokenClaims(t);
}

/**
 * customFetch for the token endpoint: for JSON kinds the form body oauth4webapi built becomes
 * `{grant_type, code, redirect_uri, client_id, code_verifier, state}`; a 200 answer without
 * `token_type` gets "bearer" (Anthropic omits it, oauth4webapi requires it).
 */
export function tokenFetch(fetchFn: Fetch, json: boolean): Fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    let req = init;
    if (json && init?.body instanceof URLSearchParams) {
      const headers = new Headers(init.headers);
      headers.set("content-type", "application/json");
      req = { ...init, headers, body: JSON.stringify(formToJson(init.body)) };
    }
    return addTokenType(await fetchFn(input, req));
  }) as Fetch;
}

const JSON_ORDER = ["grant_type", "code", "redirect_uri", "client_id", "code_verifier", "state"];

function formToJson(form: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of JSON_ORDER) {
    const v = form.get(k);
    if (v !== null) out[k] = v;
  }
  for (const [k, v] of form) if (!(k in out)) out[k] = v;
  return out;
}

async function addTokenType(res: Response): Promise<Response> {
  if (res.status !== 200 || !/json/i.test(res.headers.get("content-type") ?? "")) return res;
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return rebuild(res, text);
  }
  if (body && typeof body === "object" && !Array.isArray(body) && !("token_type" in body)) {
    return rebuild(res, JSON.stringify({ ...body, token_type: "bearer" }));
  }
  return rebuild(res, text);
}

function rebuild(res: Response, text: string): Response {
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  headers.delete("content-encoding");
  return new Response(text, { status: res.status, statusText: res.statusText, headers });
}

/** anthropic-console: creates an API key with the fresh access token; returns `raw_key`. */
export async function createApiKey(
  url: string | undefined,
  accessToken: string,
  fetchFn: Fetch = fetch,
): Promise<string> {
  const u = checkEndpoint(url, "api_key_url");
  let res: Response;
  try {
    res = await noRedirects(fetchFn)(u.href, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
      signal: AbortSignal.timeout(NETWORK_TIMEOUT_MS),
    });
  } catch (e) {
    throw new LoginError(`creating the API key failed: ${(e as Error).message}`);
  }
  const text = await res.text();
  let body: { raw_key?: unknown; error?: unknown } = {};
  try {
    body = JSON.parse(text);
  } catch { /* reported below */ }
  if (!res.ok || typeof body.raw_key !== "string" || !body.raw_key) {
    const why = !res.ok ? `HTTP ${res.status}` : "the answer has no raw_key";
    throw new LoginError(`creating the API key at ${u.origin}${u.pathname} failed: ${why}`);
  }
  return body.raw_key;
}

/** A one-line explanation of an oauth4webapi (or network) failure. */
export function describeError(e: unknown): string {
  if (e instanceof LoginError || e instanceof RedirectRefusedError) return e.message;
  if (e instanceof oauth.AuthorizationResponseError) {
    const desc = e.error_description ? ` (${e.error_description})` : "";
    return `the authorization server refused the sign-in: ${e.error}${desc}`;
  }
  if (e instanceof oauth.ResponseBodyError) {
    const desc = e.error_description ? ` (${e.error_description})` : "";
    return `the token endpoint answered HTTP ${e.status}: ${e.error}${desc}`;
  }
  if (e instanceof oauth.OperationProcessingError) {
    if (/"state"/.test(e.message)) {
      return `state mismatch: the reply does not belong to this sign-in (${e.message}); ` +
        "nothing was exchanged, start again";
    }
    if (e.code === oauth.RESPONSE_IS_NOT_CONFORM && e.cause instanceof Response) {
      return `the token endpoint answered HTTP ${e.cause.status}`;
    }
    return e.message;
  }
  if (e instanceof Error) {
    const cause = (e.cause as Error | undefined)?.message;
    return cause ? `${e.message} (${cause})` : e.message;
  }
  return String(e);
}
