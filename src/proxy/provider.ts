// The provider adapter interface: how the dispatcher talks to one upstream protocol.
// The dispatcher owns failover, timeouts and the client stream; an adapter only turns one
// ccmux request into one upstream HTTP exchange (credentials, URL, body, translation) and
// hands back a web Response whose status the dispatcher inspects before committing to it.
import type { Config } from "../config/types.ts";
import type { TokenRecord } from "../auth/types.ts";
import type { Candidate } from "./route_types.ts";
import type { Range } from "./body_scan.ts";

/** Which endpoint the client called. */
export type PathKind = "messages" | "count_tokens";

/**
 * Where adapters get OAuth access tokens (the TokenManager of src/auth/refresh.ts satisfies
 * it). `accessToken` refreshes ahead of expiry; `refreshAfterReject` refreshes once for all
 * concurrent callers that saw the same rejected token (single-flight).
 * Errors: name "LoginRequiredError" (the user must run `ccmux login ID`) or "RefreshError".
 */
export interface TokenSource {
  accessToken(id: string): Promise<TokenRecord>;
  refreshAfterReject(id: string, rejectedAccessToken: string): Promise<TokenRecord>;
}

/** One client request, parsed once, as every adapter sees it. */
export interface UpstreamRequest {
  kind: PathKind;
  /** The parsed JSON body (possibly edited by the router: see `bodyChanged`). Do not mutate. */
  body: Record<string, unknown>;
  /** The body bytes exactly as the client sent them. */
  raw: Uint8Array;
  /**
   * Where the top-level `model` value is in `raw`, when the body was scanned rather than
   * parsed (then `body` may be parsed on first use, so read it only when needed).
   */
  modelRange?: Range;
  /** True when the router edited `body`, so `raw` is stale and must be re-serialised. */
  bodyChanged: boolean;
  /** The client's request headers (credentials included: adapters decide what to forward). */
  headers: Headers;
  /**
   * The same headers as received (name, value, ...; names as sent), when the server has them
   * (Node): read all of them from here rather than by iterating `headers`.
   */
  rawHeaders?: readonly string[];
  /** The client's query string including "?" (e.g. "?beta=true"), or "". */
  search: string;
  /** The config snapshot this request runs under (a SIGHUP reload does not change it). */
  config: Config;
  /** OAuth tokens; undefined only when no provider uses OAuth. */
  tokens?: TokenSource;
  /** Records an event of this exchange for the request's log line (a token refreshed after a 401). */
  note?: (event: string) => void;
}

/**
 * One upstream protocol ("anthropic" | "openai"), chosen by `candidate.provider.api`.
 *
 * `send` performs the upstream exchange for `candidate` and resolves with the response once
 * its status and headers are known; the body streams. The response must speak Anthropic's
 * API to the client (status, JSON or SSE body). Connection failures and token problems
 * (LoginRequiredError, RefreshError) reject: the dispatcher fails over; `signal` aborts the
 * upstream request (timeouts, client disconnect).
 * Adapters may answer locally (a Response not from the network), e.g. count_tokens estimates.
 */
export interface ProviderAdapter {
  send(req: UpstreamRequest, candidate: Candidate, signal: AbortSignal): Promise<Response>;
}
