// The management API (behind `[admin] enabled`): accounts, sign-in, refresh and sign-out,
// the effective config, providers' state, usage and the live request log. Loaded by the app
// on the first /api/*, /admin or /callback request, never on the proxy's path. The guard
// (guard.ts) has already checked Origin, listener and admin token. No answer holds an access
// token, refresh token, API key, PKCE verifier, state (but inside an authorize URL) or the
// admin token.
import type { Config } from "../config/types.ts";
import type { TokenSource } from "../proxy/provider.ts";
import type { Cooldown } from "../quota/policy.ts";
import type { QuotaBook } from "../quota/book.ts";
import type { UsageBook } from "../quota/usage.ts";
import { KEEP_DAYS, usageSince } from "../quota/usage.ts";
import type { RequestLog } from "../proxy/log.ts";
import type { TokenRecord } from "../auth/types.ts";
import { errorResponse, tokenErrorResponse } from "../proxy/errors.ts";
import { openTokenStore, TokenFileError } from "../auth/token_store.ts";
import { LoginRequiredError, RefreshError, TokenManager } from "../auth/refresh.ts";
import { LockFileError, LockTimeoutError } from "../auth/lock.ts";
import { resolveOAuth } from "../auth/kinds.ts";
import { revokeRecord } from "../auth/revoke.ts";
import { escapeHtml } from "../auth/callback_server.ts";
import { accountStatus } from "../cli/status.ts";
import { savedQuota, savedView } from "../quota/live.ts";
import { redactedConfig } from "../config/show.ts";
import { FlowError, SignInFlows } from "./flows.ts";
import { EventHub, ProviderStats } from "./events.ts";
import { adminPage } from "./page.ts";

/** What the admin API reads of the running app (the current state: it changes on reload). */
export interface AdminContext {
  config(): Config;
  /** serve's token manager, when it has one (else the API makes its own). */
  tokens(): TokenSource | undefined;
  cooldown(): Cooldown;
  quota: QuotaBook;
  usage: UsageBook;
  /** For the authorization server (tests); default: global fetch. */
  fetch?: typeof fetch;
}

export interface Admin {
  /** Answers a request to /api/*, /admin or /callback that passed the guard. */
  handle(request: Request, path: string): Promise<Response>;
  /** Told of every finished request (events and provider stats). */
  observe(l: RequestLog): void;
  readonly events: EventHub;
}

const MAX_BODY = 64 * 1024;

export function createAdmin(ctx: AdminContext): Admin {
  const flows = new SignInFlows(ctx.fetch);
  const events = new EventHub();
  const stats = new ProviderStats();
  let own: { config: Config; manager: TokenManager } | undefined;
  const manager = (config: Config): TokenManager => {
    const t = ctx.tokens();
    if (t instanceof TokenManager) return t;
    if (own?.config !== config) own = { config, manager: new TokenManager({ config }) };
    return own.manager;
  };

  const accountView = (config: Config, id: string, rec: TokenRecord, now = Date.now()) => {
    const s = accountStatus(config, id, rec, now);
    const account = rec && typeof rec === "object" && rec.account && typeof rec.account === "object"
      ? rec.account
      : null;
    const { quota: _q, ...rest } = s;
    const out: Record<string, unknown> = { ...rest, account };
    const quota = savedQuota(config, ctx.quota.snapshot(), id);
    if (quota.length) out.quota = quota;
    return out;
  };

  async function route(request: Request, path: string): Promise<Response> {
    const config = ctx.config();
    const method = request.method;
    const url = new URL(request.url);
    if (path === "/callback" && method === "GET") return await callback(config, url);
    if (path === "/admin" && method === "GET") return adminPage();
    if (method === "GET") {
      switch (path) {
        case "/api/oauth/tokens":
          return await listAccounts(config);
        case "/api/config":
          return json(redactedConfig(config));
        case "/api/providers":
          return json({ providers: providers(config) });
        case "/api/usage": {
          const raw = url.searchParams.get("days") ?? "7";
          const days = /^\d+$/.test(raw) ? Number(raw) : NaN;
          if (!(days >= 1 && days <= KEEP_DAYS)) {
            return errorResponse(400, `ccmux: days must be a whole number from 1 to ${KEEP_DAYS}`);
          }
          return json(usageSince(ctx.usage.rows(), days));
        }
        case "/api/events":
          return events.connect();
      }
    }
    if (method === "POST" && path === "/api/oauth/authorize") {
      const body = await readJson(request);
      if (body instanceof Response) return body;
      if (typeof body.provider_id !== "string" || !body.provider_id) {
        return errorResponse(400, "ccmux: provider_id (an account ID) is required");
      }
      return json(await flows.start(config, body.provider_id, portOf(request)));
    }
    if (method === "POST" && path === "/api/oauth/exchange") {
      const body = await readJson(request);
      if (body instanceof Response) return body;
      const { flow_id, provider_id, code } = body;
      if (typeof code !== "string" || !code) {
        return errorResponse(400, "ccmux: code (CODE#STATE or the callback URL) is required");
      }
      if (typeof flow_id !== "string" && typeof provider_id !== "string") {
        return errorResponse(400, "ccmux: flow_id or provider_id is required");
      }
      const by = typeof flow_id === "string" ? { flow_id } : { provider_id: provider_id as string };
      const done = await flows.exchange(config, by, code);
      return json(accountView(config, done.account, done.record));
    }
    const m = /^\/api\/oauth\/tokens\/([^/]+)(\/refresh)?$/.exec(path);
    if (m) {
      let id: string;
      try {
        id = decodeURIComponent(m[1]);
      } catch {
        return errorResponse(400, "ccmux: the account ID is not valid %-encoding");
      }
      if (m[2] && method === "POST") {
        const body = await readJson(request);
        if (body instanceof Response) return body;
        return await refresh(config, id);
      }
      if (!m[2] && method === "DELETE") return await remove(config, id);
    }
    return errorResponse(404, `ccmux: no route for ${method} ${path}`);
  }

  async function listAccounts(config: Config): Promise<Response> {
    const doc = await openTokenStore(config).read();
    const now = Date.now();
    return json({
      accounts: Object.keys(doc).sort().map((id) => accountView(config, id, doc[id], now)),
    });
  }

  async function refresh(config: Config, id: string): Promise<Response> {
    const tokens = manager(config);
    const doc = await tokens.store.read();
    if (!Object.hasOwn(doc, id)) return errorResponse(404, `ccmux: no account '${id}'`);
    try {
      const rec = await tokens.accessToken(id, { force: true });
      return json(accountView(config, id, rec));
    } catch (e) {
      if (e instanceof LoginRequiredError || e instanceof RefreshError) {
        return tokenErrorResponse(e, id);
      }
      throw e;
    }
  }

  async function remove(config: Config, id: string): Promise<Response> {
    const store = openTokenStore(config);
    if (!Object.hasOwn(await store.read(), id)) {
      return errorResponse(404, `ccmux: no account '${id}'`);
    }
    const removed = await store.update((doc): { rec: TokenRecord } | undefined => {
      if (!Object.hasOwn(doc, id)) return undefined;
      const rec = doc[id];
      delete doc[id];
      return { rec };
    });
    if (!removed) return errorResponse(404, `ccmux: no account '${id}'`);
    const rec = typeof removed.rec === "object" && removed.rec !== null
      ? removed.rec
      : ({} as TokenRecord);
    const kind = typeof rec.kind === "string" ? rec.kind : undefined;
    const result = await revokeRecord(resolveOAuth(config, id, kind), rec, ctx.fetch);
    return json({ removed: id, revoked: "ok" in result });
  }

  async function callback(config: Config, url: URL): Promise<Response> {
    try {
      const done = await flows.callback(config, url.searchParams);
      return page(200, true, `Signed in to ccmux account '${done.account}'.`);
    } catch (e) {
      if (e instanceof FlowError) return page(e.status, false, e.message.replace(/^ccmux: /, ""));
      throw e;
    }
  }

  function providers(config: Config) {
    const now = Date.now();
    const cooling = new Map(ctx.cooldown().snapshot(now).map((c) => [c.provider, c.until]));
    const quota = new Map(ctx.quota.snapshot().map((q) => [q.provider, q]));
    return config.providers.map((p) => {
      const q = quota.get(p.name);
      const exhausted = q?.exhausted && q.exhausted.until > now ? q.exhausted.until : undefined;
      const until = cooling.get(p.name);
      const out: Record<string, unknown> = {
        name: p.name,
        provider_type: p.provider_type,
        auth_type: p.auth_type,
        enabled: p.enabled,
        state: exhausted !== undefined
          ? "quota_exhausted"
          : until !== undefined
          ? "cooling_down"
          : "ok",
      };
      if (exhausted !== undefined) out.until = new Date(exhausted).toISOString();
      else if (until !== undefined) out.until = new Date(until).toISOString();
      Object.assign(out, stats.of(p.name));
      if (q) out.quota = savedView(q);
      return out;
    });
  }

  return {
    events,
    observe(l) {
      stats.observe(l);
      events.publish(l);
    },
    async handle(request, path) {
      try {
        return await route(request, path);
      } catch (e) {
        if (e instanceof FlowError) return errorResponse(e.status, e.message);
        if (
          e instanceof TokenFileError || e instanceof LockTimeoutError ||
          e instanceof LockFileError
        ) {
          return errorResponse(500, `ccmux: ${e.message}`);
        }
        throw e;
      }
    },
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function page(status: number, ok: boolean, message: string): Response {
  const title = ok ? "Signed in" : "Sign-in not completed";
  return new Response(
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>ccmux: ${title}</title></head>` +
      `<body style="font-family: sans-serif; margin: 3em"><h1>${title}</h1>` +
      `<p>${escapeHtml(message)}</p><p>You can close this tab.</p></body></html>\n`,
    {
      status,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
        "referrer-policy": "no-referrer",
      },
    },
  );
}

/** The request's JSON object body, or the 400/413 answer. */
async function readJson(request: Request): Promise<Record<string, unknown> | Response> {
  const cl = request.headers.get("content-length");
  if (cl !== null && Number(cl) > MAX_BODY) {
    return errorResponse(413, "ccmux: request body is too large");
  }
  const text = await request.text();
  if (text.length > MAX_BODY) return errorResponse(413, "ccmux: request body is too large");
  let body: unknown;
  try {
    body = JSON.parse(text || "{}");
  } catch {
    return errorResponse(400, "ccmux: the request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return errorResponse(400, "ccmux: the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** The port of the request's Host header (what the browser used to reach serve). */
function portOf(request: Request): string {
  const host = request.headers.get("host") ?? "";
  const m = /:(\d+)$/.exec(host);
  return m ? m[1] : "80";
}
