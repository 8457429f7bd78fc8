// The ccmux HTTP app (web-standard Request/Response, on hono): safety checks, body parsing
// once, routing, failover dispatch, one log line per request. Runtime-neutral: src/runtime/
// serves it.
import { createHash, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import process from "node:process";
import { Hono } from "hono";
import type { Config } from "../config/types.ts";
import { isLoopbackHost } from "../config/validate.ts";
import { VERSION } from "../version.ts";
import { selectRoute } from "./router.ts";
import { RouteError } from "./route_types.ts";
import type { PathKind, ProviderAdapter, TokenSource, UpstreamRequest } from "./provider.ts";
import { AnthropicAdapter } from "./anthropic.ts";
import { dispatch, type RequestObserver } from "./dispatch.ts";
import { Cooldown, PolicyChain } from "../quota/policy.ts";
import { QuotaBook } from "../quota/book.ts";
import { UsageBook } from "../quota/usage.ts";
import type { Metrics } from "../quota/metrics.ts";
import { errorResponse } from "./errors.ts";
import { modelInfo, modelList } from "./models.ts";
import { Logger, type RequestLog } from "./log.ts";
import { presentedCredentials, repeatedCredential } from "./headers.ts";
import { clientSignal, readBodyDirect, requestHeaderPairs } from "../runtime/serve.ts";
import { parseRange, type Range, rangeIncludes, scanBody } from "./body_scan.ts";
import type { Admin } from "../admin/api.ts";

/** Options for createApp. */
export interface AppOptions {
  config: Config;
  /** OAuth tokens (a TokenManager); needed when a provider uses auth_type "oauth". */
  tokens?: TokenSource;
  /** Where log lines go; default: stderr with the config's log_level and log_format. */
  log?: (line: string) => void;
  /** Adapters by provider api; defaults: "anthropic" built in, "openai" loaded on first use. */
  adapters?: Record<string, ProviderAdapter>;
  /** The quota windows to start from (serve loads them from its state folder); default empty. */
  quota?: QuotaBook;
  /** The usage records to add to (serve loads them from its state folder); default empty. */
  usage?: UsageBook;
}

/** A running ccmux app: hand `fetch` to a server; `reload` swaps the config for new requests. */
export interface CcmuxApp {
  /**
   * The request handler. On Deno it answers with web Responses. On Node, served by
   * runtime/serve.ts, a relayed upstream answer is a Response-like object (status, headers with
   * get/has/forEach, body/text() built on demand) that serve.ts writes straight to the socket;
   * do not rely on `instanceof Response` there.
   */
  fetch: (request: Request, ...rest: unknown[]) => Response | Promise<Response>;
  hono: Hono;
  readonly config: Config;
  readonly logger: Logger;
  /** New requests use `config` (and `tokens` if given); in-flight ones finish on the old. */
  reload(config: Config, tokens?: TokenSource): void;
  /**
   * For a request that sent `Expect: 100-continue`, before its body is read: the answer that
   * refuses it (403 Host/Origin, 400 repeated credential, 401 key, 413 Content-Length), logged,
   * or undefined when the client may send the body.
   */
  precheck(request: Request): Response | undefined;
  /** The quota windows per provider (kept over reloads). */
  readonly quota: QuotaBook;
  /** The usage records (kept over reloads). */
  readonly usage: UsageBook;
  /** Ends the long-lived streams (the admin API's /api/events) so a drain need not wait. */
  closeStreams(): void;
}

/** The header that carries the id of the request's log line on every answer of ccmux. */
export const REQUEST_ID_HEADER = "x-ccmux-request-id";

const UTF8 = new TextDecoder();

/** Per-config state, swapped as a whole on reload. */
interface State {
  config: Config;
  tokens?: TokenSource;
  /** `tokens` as given (unwrapped by the metrics' refresh counter), for reloads. */
  givenTokens?: TokenSource;
  logger: Logger;
  cooldown: Cooldown;
  /** Quota first, then the cool-down: what the dispatcher asks before each attempt. */
  policy: PolicyChain;
  /** Told of every finished request: the logger, the usage records, metrics when enabled. */
  observers: RequestObserver[];
  /** The token-file account behind each oauth provider, by provider name. */
  accounts: Map<string, string>;
  /** `[metrics] enabled`: the metrics (loaded on first use). */
  metrics?: Promise<Metrics>;
  metricsTokenHash?: Buffer;
  maxBody: number;
  apiKeyHash?: Buffer;
  allowedHosts: Set<string>;
  /** log_level is "debug": requests log header names, candidates and timings too. */
  debug: boolean;
  /** `[admin] enabled`: the admin token's hash, once the first admin request needed it. */
  adminTokenHash?: Buffer;
}

/** The admin module, loaded on the first admin request (never when [admin] is off). */
interface AdminModule {
  admin: Admin;
  refusal: (req: Request, path: string, config: Config, tokenHash: Buffer) => Response | undefined;
  token: (config: Config) => string;
}

/**
 * Builds the ccmux app.
 *
 * @example
 * ```ts
 * const app = createApp({ config: loadConfig({ env: process.env }) });
 * Deno.serve({ port: 13456 }, app.fetch);
 * ```
 */
export function createApp(opts: AppOptions): CcmuxApp {
  const sink = opts.log ?? ((line: string) => void process.stderr.write(line));
  const adapters: Record<string, ProviderAdapter> = {
    anthropic: new AnthropicAdapter(),
    openai: lazyOpenAI(),
    responses: lazyResponses(),
    copilot: lazyCopilot(),
    ...opts.adapters,
  };
  const quota = opts.quota ?? new QuotaBook();
  const usage = opts.usage ?? new UsageBook();
  let metrics: Promise<Metrics> | undefined;
  /** Counts requests finished while the metrics module loads, then hands them over. */
  const loadMetrics = (): Promise<Metrics> =>
    metrics ??= import("../quota/metrics.ts").then((m) => new m.Metrics(() => quota));
  let adminModule: Promise<AdminModule> | undefined;
  let adminLoaded: Admin | undefined;
  const loadAdmin = (): Promise<AdminModule> =>
    adminModule ??= Promise.all([
      import("../admin/api.ts"),
      import("../admin/guard.ts"),
      import("../admin/token.ts"),
    ]).then(([api, guard, token]) => {
      adminLoaded = api.createAdmin({
        config: () => state.config,
        tokens: () => state.givenTokens,
        cooldown: () => state.cooldown,
        quota,
        usage,
      });
      return { admin: adminLoaded, refusal: guard.adminRefusal, token: token.adminToken };
    });
  const makeState = (config: Config, given?: TokenSource, prev?: State): State => {
    let tokens = given;
    const logger = new Logger(sink, config.server.log_level, config.server.log_format);
    // Failure counts survive a reload only when the thresholds did not change.
    const cooldown = prev && prev.cooldown.failures === config.router.cooldown_failures &&
        prev.cooldown.seconds === config.router.cooldown_s
      ? prev.cooldown
      : new Cooldown(config.router.cooldown_failures, config.router.cooldown_s);
    quota.softLimit = config.router.quota_soft_limit;
    const accounts = new Map<string, string>();
    for (const p of config.providers) {
      if (p.auth_type === "oauth") accounts.set(p.name, p.oauth_provider ?? p.name);
    }
    const observers: RequestObserver[] = [
      (l) => logger.request(l),
      (l) => recordUsage(usage, accounts, l),
    ];
    let m: Promise<Metrics> | undefined;
    if (config.metrics.enabled) {
      m = loadMetrics();
      let loaded: Metrics | undefined;
      const early: RequestLog[] = [];
      void m.then((x) => {
        loaded = x;
        for (const l of early.splice(0)) x.observe(l);
      }, () => {});
      observers.push((l) => loaded ? loaded.observe(l) : early.push(l));
      if (tokens) tokens = countRefreshes(tokens, (id) => void m!.then((x) => x.refreshed(id)));
    }
    // The admin API's live log and provider stats (nothing to tell until it is loaded).
    if (config.admin.enabled) observers.push((l) => adminLoaded?.observe(l));
    return {
      config,
      tokens,
      givenTokens: given,
      logger,
      debug: config.server.log_level === "debug",
      cooldown,
      policy: new PolicyChain([quota, cooldown]),
      observers,
      accounts,
      metrics: m,
      metricsTokenHash: config.metrics.token ? sha256(config.metrics.token) : undefined,
      maxBody: Math.floor(config.server.max_body_mb * 1024 * 1024),
      apiKeyHash: config.server.api_key ? sha256(config.server.api_key) : undefined,
      allowedHosts: new Set(config.server.allowed_hosts.map((h) => h.toLowerCase())),
    };
  };
  let state = makeState(opts.config, opts.tokens);
  const prefix = Math.random().toString(36).slice(2, 7);
  let counter = 0;
  const nextId = () => `${prefix}-${++counter}`;

  // POST /v1/messages and /v1/messages/count_tokens are answered by `fetch` itself (below);
  // hono serves the rest, and `fetch` logs those answers.
  const hono = new Hono();
  hono.get("/health", (c) => c.json({ status: "ok", version: VERSION }));
  hono.get("/v1/models", (c) => modelList(state.config, new URL(c.req.url).searchParams));
  // A wildcard: "provider/model" names hold a slash, sent encoded or not.
  hono.get("/v1/models/*", (c) => modelInfo(state.config, modelIdOf(c.req.url)));
  hono.notFound((c) => errorResponse(404, `ccmux: no route for ${c.req.method} ${c.req.path}`));
  const internalError = (err: unknown): Response => {
    state.logger.event("error", `internal error: ${err instanceof Error ? err.message : err}`);
    return errorResponse(500, "ccmux: internal error");
  };
  hono.onError(internalError);

  /** Safety checks that come before routing; a Response when the request is refused. */
  function guard(req: Request, path: string, s: State): Response | undefined {
    const header = req.headers.get("host");
    const host = hostName(header);
    if (
      host === undefined ||
      !(isLoopbackHost(host) || s.allowedHosts.has(host) ||
        s.allowedHosts.has(header!.toLowerCase()))
    ) {
      return errorResponse(403, "ccmux: this Host is not allowed (see server.allowed_hosts)");
    }
    // Deny by default: only /health is public. Checking "/v1/" prefixes would let a %-encoded
    // path (/%761/messages), which the router decodes, slip past.
    if (path !== "/health") {
      // The admin paths check Origin (only serve's own) and their own token: admin/guard.ts.
      const admin = s.config.admin.enabled && isAdminPath(path);
      if (!admin && req.headers.has("origin")) {
        return errorResponse(403, "ccmux: requests from web pages (Origin header) are refused");
      }
      const repeated = repeatedCredential(req.headers);
      if (repeated) {
        return errorResponse(
          400,
          `ccmux: the ${repeated} header was sent more than once (or holds a list); send one`,
        );
      }
      if (admin) return undefined;
      if (path === "/metrics" && s.metricsTokenHash) {
        // Its own token (a scraper's), instead of the clients' key.
        if (!clientKeyMatches(req.headers, s.metricsTokenHash)) {
          return errorResponse(401, "ccmux: missing or wrong bearer token for /metrics");
        }
      } else if (s.apiKeyHash && !clientKeyMatches(req.headers, s.apiKeyHash)) {
        return errorResponse(401, "ccmux: missing or wrong API key for this ccmux server");
      }
    }
    return undefined;
  }

  async function messages(request: Request, kind: PathKind, s: State): Promise<Response> {
    const started = performance.now();
    const url = request.url;
    const q = url.indexOf("?");
    const path = kind === "messages" ? "/v1/messages" : "/v1/messages/count_tokens";
    const log: RequestLog = {
      id: nextId(),
      method: "POST",
      path,
      status: 0,
      duration_ms: 0,
    };
    const fail = (res: Response, error?: string): Response => {
      log.status = res.status;
      log.duration_ms = Math.round(performance.now() - started);
      if (error) log.error = error;
      notify(s, log);
      res.headers.set(REQUEST_ID_HEADER, log.id);
      return res;
    };
    if (s.debug) log.header_names = headerNames(request);
    const raw = await readBody(request, s.maxBody);
    if (raw === undefined) {
      return fail(
        errorResponse(413, `ccmux: request body is larger than ${s.config.server.max_body_mb} MB`),
      );
    }
    if (s.debug) log.read_ms = Math.round(performance.now() - started);
    // Anthropic pass-through reads only a few small members: scan the bytes for their ranges
    // and parse just those. Anything unusual takes the full parse (and its precise errors).
    const view = routingView(raw, s.config);
    let body: Record<string, unknown>;
    if (view) body = view.body;
    else {
      const parsed = parseBody(raw);
      if (parsed instanceof Response) return fail(parsed);
      body = parsed;
    }
    if (typeof body.model === "string") log.model = body.model;
    let decision;
    try {
      decision = selectRoute(s.config, body, request.headers);
    } catch (e) {
      if (e instanceof RouteError) {
        return fail(errorResponse(e.status, `ccmux: ${e.message}`), e.message);
      }
      throw e;
    }
    log.rule = decision.rule;
    log.route = decision.model;
    if (s.debug) {
      log.route_ms = Math.round(performance.now() - started) - (log.read_ms ?? 0);
      log.candidates = decision.candidates.map((c) => `${c.provider.name}/${c.actual_model}`);
    }
    const base = {
      kind,
      raw,
      bodyChanged: decision.bodyChanged,
      headers: request.headers,
      rawHeaders: requestHeaderPairs(request),
      search: q === -1 ? "" : url.slice(q),
      config: s.config,
      tokens: s.tokens,
      note: (event: string) => (log.retries ??= []).push(event),
    };
    let upstreamReq: UpstreamRequest;
    if (view) {
      // Other protocols translate the whole body: parse it now, so invalid JSON is still a 400.
      let full: Record<string, unknown> | undefined;
      if (decision.candidates.some((c) => c.provider.api !== "anthropic")) {
        const parsed = parseBody(raw);
        if (parsed instanceof Response) return fail(parsed);
        full = parsed;
      }
      upstreamReq = {
        ...base,
        modelRange: view.modelRange,
        get body() {
          return full ??= JSON.parse(UTF8.decode(raw));
        },
      };
    } else upstreamReq = { ...base, body };
    const res = await dispatch(upstreamReq, decision, {
      adapters,
      policy: s.policy,
      clientSignal: clientSignal(request),
      log,
      started,
      observers: s.observers,
    });
    res.headers.set(REQUEST_ID_HEADER, log.id);
    return res;
  }

  /** A refused request's answer, logged and carrying its id. */
  function refusal(request: Request, path: string, res: Response, s: State): Response {
    const id = nextId();
    notify(s, { id, method: request.method, path, status: res.status, duration_ms: 0 });
    res.headers.set(REQUEST_ID_HEADER, id);
    return res;
  }

  /** A hono route's answer, logged (GET /health only at debug: monitors poll it). */
  function logged(request: Request, path: string, res: Response, s: State, started: number) {
    const id = nextId();
    if (path !== "/health" || s.debug) {
      const log: RequestLog = {
        id,
        method: request.method,
        path,
        status: res.status,
        duration_ms: Math.round(performance.now() - started),
      };
      if (s.debug) log.header_names = headerNames(request);
      notify(s, log);
    }
    res.headers.set(REQUEST_ID_HEADER, id);
    return res;
  }

  const fetch = (request: Request, ...rest: unknown[]): Response | Promise<Response> => {
    const s = state;
    const path = pathOf(request.url);
    const refused = guard(request, path, s);
    if (refused) return refusal(request, path, refused, s);
    // The hot path skips hono's routing and context objects (same handler, same error answer).
    if (request.method === "POST") {
      if (path === "/v1/messages") return messages(request, "messages", s).catch(internalError);
      if (path === "/v1/messages/count_tokens") {
        return messages(request, "count_tokens", s).catch(internalError);
      }
    }
    const started = performance.now();
    if (path === "/metrics" && s.metrics && request.method === "GET") {
      return metricsAnswer(s.metrics).then((r) => logged(request, path, r, s, started));
    }
    if (s.config.admin.enabled && isAdminPath(path)) {
      return adminAnswer(request, path, s).catch(internalError)
        .then((r) => logged(request, path, r, s, started));
    }
    // deno-lint-ignore no-explicit-any
    const res = hono.fetch(request, ...(rest as [any, any]));
    return res instanceof Promise
      ? res.then((r) => logged(request, path, r, s, started))
      : logged(request, path, res, s, started);
  };

  async function adminAnswer(request: Request, path: string, s: State): Promise<Response> {
    const m = await loadAdmin();
    s.adminTokenHash ??= sha256(m.token(s.config));
    return m.refusal(request, path, s.config, s.adminTokenHash) ??
      await m.admin.handle(request, path);
  }

  const precheck = (request: Request): Response | undefined => {
    const s = state;
    const path = pathOf(request.url);
    let refused = guard(request, path, s);
    const cl = request.headers.get("content-length");
    if (!refused && cl !== null && Number(cl) > s.maxBody) {
      refused = errorResponse(
        413,
        `ccmux: request body is larger than ${s.config.server.max_body_mb} MB`,
      );
    }
    return refused && refusal(request, path, refused, s);
  };

  return {
    fetch,
    hono,
    get config() {
      return state.config;
    },
    get logger() {
      return state.logger;
    },
    reload(config: Config, tokens?: TokenSource) {
      state = makeState(config, tokens ?? state.givenTokens, state);
    },
    precheck,
    quota,
    usage,
    closeStreams() {
      adminLoaded?.events.close();
    },
  };
}

/** The paths of the management API and admin page (raw, not %-decoded: deny by default). */
function isAdminPath(path: string): boolean {
  return path.startsWith("/api/") || path === "/admin" || path === "/callback";
}

/** Tells each observer of a finished request. */
function notify(s: State, log: RequestLog): void {
  for (const o of s.observers) o(log);
}

/** A /v1/messages request that reached a provider, into the usage records. */
function recordUsage(usage: UsageBook, accounts: Map<string, string>, l: RequestLog): void {
  if (l.path !== "/v1/messages" || l.provider === undefined) return;
  usage.record({
    provider: l.provider,
    model: l.upstream_model ?? l.model ?? "",
    account: accounts.get(l.provider) ?? null,
    error: l.status >= 400 || l.error !== undefined,
    input_tokens: l.input_tokens,
    output_tokens: l.output_tokens,
    cache_read_tokens: l.cache_read_input_tokens,
    cache_write_tokens: l.cache_creation_input_tokens,
  });
}

async function metricsAnswer(m: Promise<Metrics>): Promise<Response> {
  const metrics = await m;
  return new Response(await metrics.text(), {
    headers: { "content-type": metrics.contentType, "cache-control": "no-store" },
  });
}

/**
 * `tokens`, telling `refreshed(id)` when an account's token changes (a refresh ahead of expiry,
 * or after an upstream 401, by this process or another). Compares expiry times, not tokens.
 */
function countRefreshes(tokens: TokenSource, refreshed: (id: string) => void): TokenSource {
  const seen = new Map<string, string | undefined>();
  const note = <T extends { expires_at?: string; access_token: string }>(id: string, r: T): T => {
    const was = seen.get(id);
    if (seen.has(id) && was !== r.expires_at) refreshed(id);
    seen.set(id, r.expires_at);
    return r;
  };
  return {
    accessToken: (id) => tokens.accessToken(id).then((r) => note(id, r)),
    refreshAfterReject: (id, rejected) =>
      tokens.refreshAfterReject(id, rejected).then((r) => note(id, r)),
  };
}

/** The path of "http://host:port/path?query", without URL parsing. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const q = url.indexOf("?", start);
  return start === -1 ? "/" : url.slice(start, q === -1 ? undefined : q);
}

/** The model id of "…/v1/models/ID", %-decoded (kept as sent when that fails). */
function modelIdOf(url: string): string {
  const id = pathOf(url).slice("/v1/models/".length);
  try {
    return decodeURIComponent(id);
  } catch {
    return id;
  }
}

/** The names (never the values) of a request's headers, for debug log lines. */
function headerNames(request: Request): string[] {
  const raw = requestHeaderPairs(request);
  if (raw) {
    const names: string[] = [];
    for (let i = 0; i < raw.length; i += 2) names.push(raw[i].toLowerCase());
    return names;
  }
  return [...request.headers.keys()];
}

/** The Host header's name without port, lower-case; "[::1]" keeps its brackets. */
function hostName(host: string | null): string | undefined {
  if (!host) return undefined;
  host = host.toLowerCase();
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end === -1 ? undefined : host.slice(0, end + 1);
  }
  const colon = host.indexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** x-api-key or Authorization: Bearer equal to server.api_key, compared in constant time. */
function clientKeyMatches(headers: Headers, want: Buffer): boolean {
  return presentedCredentials(headers).some((c) => timingSafeEqual(sha256(c.key), want));
}

/**
 * The body bytes, or undefined when they exceed `limit` (checked against content-length first
 * and counted while reading, for chunked bodies).
 */
async function readBody(req: Request, limit: number): Promise<Uint8Array | undefined> {
  const cl = req.headers.get("content-length");
  if (cl !== null) {
    if (Number(cl) > limit) return undefined;
    // Node: straight from node:http (node's parser stops at content-length).
    const direct = readBodyDirect(req);
    if (direct) return await direct;
    // arrayBuffer() before touching `body`: @hono/node-server then reads the socket directly
    // instead of building a web stream.
    const buf = new Uint8Array(await req.arrayBuffer());
    return buf.byteLength > limit ? undefined : buf;
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The whole body parsed, or the 400 answer when it is not a JSON object. */
function parseBody(raw: Uint8Array): Record<string, unknown> | Response {
  let body: unknown;
  try {
    body = JSON.parse(UTF8.decode(raw));
  } catch {
    return errorResponse(400, "ccmux: the request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return errorResponse(400, "ccmux: the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

// Byte needles for the routing view. The tag's name, not "<...>": a serialiser may escape "<".
const SUBAGENT_TAG = Buffer.from("CCM-SUBAGENT-MODEL");
const WEB_SEARCH = Buffer.from("web_search");
const ROUTING_MEMBERS = ["model", "thinking"];

/**
 * The members selectRoute reads, parsed from their byte ranges (body_scan.ts), and where
 * `model` is; undefined when the whole body must be parsed instead: long_context routing (it
 * estimates over all of it), a subagent tag in `system` (the router edits it), duplicate
 * keys, or bytes the scan or a member's parse rejects.
 */
function routingView(
  raw: Uint8Array,
  config: Config,
): { body: Record<string, unknown>; modelRange?: Range } | undefined {
  if (config.router.long_context) return undefined;
  const scan = scanBody(raw);
  if (!scan || scan.duplicateKeys) return undefined;
  const m = scan.members;
  const system = m.get("system");
  if (system && rangeIncludes(raw, system, SUBAGENT_TAG)) return undefined;
  const body: Record<string, unknown> = {};
  try {
    for (const key of ROUTING_MEMBERS) {
      const r = m.get(key);
      if (r) body[key] = parseRange(raw, r);
    }
    const tools = m.get("tools");
    if (tools && config.router.websearch && rangeIncludes(raw, tools, WEB_SEARCH)) {
      body.tools = parseRange(raw, tools);
    }
  } catch {
    return undefined;
  }
  return { body, modelRange: m.get("model") };
}

/** The OpenAI adapter (src/proxy/openai.ts), imported only when an openai provider is used. */
function lazyOpenAI(): ProviderAdapter {
  let loaded: Promise<ProviderAdapter> | undefined;
  return {
    async send(req, cand, signal) {
      loaded ??= import("./openai.ts").then((m) => new m.OpenAIAdapter());
      return (await loaded).send(req, cand, signal);
    },
  };
}

/** The Responses API adapter (src/proxy/responses.ts), imported only when such a provider is used. */
function lazyResponses(): ProviderAdapter {
  let loaded: Promise<ProviderAdapter> | undefined;
  return {
    async send(req, cand, signal) {
      loaded ??= import("./responses.ts").then((m) => new m.ResponsesAdapter());
      return (await loaded).send(req, cand, signal);
    },
  };
}

/** The GitHub Copilot adapter (src/proxy/copilot.ts), imported only when such a provider is used. */
function lazyCopilot(): ProviderAdapter {
  let loaded: Promise<ProviderAdapter> | undefined;
  return {
    async send(req, cand, signal) {
      loaded ??= import("./copilot.ts").then((m) => new m.CopilotAdapter());
      return (await loaded).send(req, cand, signal);
    },
  };
}
