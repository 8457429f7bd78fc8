// The GitHub Copilot credential policy: the account's GitHub token as `Authorization: Bearer`
// on {base_url}, or with `[oauth.ID] copilot_token_exchange = true` a short-lived Copilot
// session token traded for it (GET copilot_internal/v2/token), kept in memory only, renewed
// before its expires_at, with the answer's endpoints.api as the base. An upstream 401 renews the
// session token once (exchange mode); a 401 after that, or without the exchange, refreshes the
// GitHub token once (sendWithOAuth). Every request says who sends it: User-Agent ccmux/VERSION;
// ccmux never presents itself as an editor or another Copilot client.
import type { TokenRecord } from "../auth/types.ts";
import { resolveOAuth } from "../auth/kinds.ts";
import { noRedirects } from "../auth/no_redirect.ts";
import { isLoopbackHost } from "../config/validate.ts";
import { VERSION } from "../version.ts";
import type { Candidate } from "./route_types.ts";
import type { UpstreamRequest } from "./provider.ts";
import type { CredentialPolicy, UpstreamTarget } from "./credential_policy.ts";
import { oauthAccount, sendWithOAuth } from "./credentials.ts";
import { errorResponse } from "./errors.ts";
import { hasImage, initiator } from "./copilot_headers.ts";

/** Renew a session token this long before its expires_at. */
export const SESSION_RENEW_BEFORE_MS = 60_000;
const EXCHANGE_TIMEOUT_MS = 30_000;

/** A Copilot session token in memory. */
interface Session {
  /** The GitHub token it was traded for (a new GitHub token means a new session). */
  github: string;
  token: string;
  /** endpoints.api, when the answer gave a usable one. */
  base?: string;
  renewAt: number;
}

export class CopilotAuth implements CredentialPolicy {
  #sessions = new Map<string, Session>();
  #inflight = new Map<string, Promise<Session | Response>>();
  #now: () => number;
  /** Exchanges made (tests read it). */
  exchanges = 0;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
  }

  send(
    req: UpstreamRequest,
    cand: Candidate,
    attempt: (target: UpstreamTarget) => Promise<Response>,
    opts: { bare?: boolean } = {},
  ): Promise<Response> {
    const p = cand.provider;
    const extra: Record<string, string> = { "user-agent": `ccmux/${VERSION}` };
    if (!opts.bare) {
      extra["x-initiator"] = initiator(req.body);
      if (hasImage(req.body)) extra["copilot-vision-request"] = "true";
    }
    const target = (base: string, token: string): UpstreamTarget => ({
      base,
      headers: { ...extra, authorization: `Bearer ${token}` },
      credential: token,
    });
    return sendWithOAuth(req, p, async (record: TokenRecord) => {
      const resolved = resolveOAuth(req.config, oauthAccount(p), record.kind);
      if (!resolved?.copilot_token_exchange) {
        return attempt(target(p.base_url, record.access_token));
      }
      const id = oauthAccount(p);
      let session = await this.#session(id, record, resolved.copilot_token_url);
      if (session instanceof Response) return session;
      const first = await attempt(target(session.base ?? p.base_url, session.token));
      if (first.status !== 401) return first;
      await first.body?.cancel().catch(() => {});
      session = await this.#session(id, record, resolved.copilot_token_url, session.token);
      if (session instanceof Response) return session;
      const second = await attempt(target(session.base ?? p.base_url, session.token));
      req.note?.(`${p.name} 401 → Copilot session token renewed → ${second.status}`);
      return second;
    });
  }

  /**
   * The account's session token: the one in memory while it is fresh and was traded for this
   * GitHub token (and is not `rejected`), else a new exchange (one at a time per account).
   * A failed exchange is an error Response (401 when GitHub refused the GitHub token).
   */
  #session(
    id: string,
    record: TokenRecord,
    url: string | undefined,
    rejected?: string,
  ): Promise<Session | Response> {
    const have = this.#sessions.get(id);
    if (
      have && have.github === record.access_token && have.token !== rejected &&
      this.#now() < have.renewAt
    ) {
      return Promise.resolve(have);
    }
    const running = this.#inflight.get(id);
    if (running) return running;
    const p = this.#exchange(record.access_token, url).then((s) => {
      if (!(s instanceof Response)) this.#sessions.set(id, s);
      return s;
    }).finally(() => this.#inflight.delete(id));
    this.#inflight.set(id, p);
    return p;
  }

  async #exchange(github: string, url: string | undefined): Promise<Session | Response> {
    if (!url) return errorResponse(502, "ccmux: no copilot_token_url for the token exchange");
    this.exchanges++;
    const where = originPath(url);
    let res: Response;
    try {
      res = await noRedirects(fetch)(url, {
        method: "GET",
        headers: {
          authorization: `token ${github}`,
          accept: "application/json",
          "user-agent": `ccmux/${VERSION}`,
        },
        signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS),
      });
    } catch (e) {
      return errorResponse(
        502,
        `ccmux: the Copilot token exchange at ${where} failed: ${(e as Error).message}`,
      );
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) {
      const why = res.status === 404
        ? " (this GitHub token cannot be traded for a Copilot session token; tokens of a " +
          "GitHub OAuth App often cannot: set copilot_token_exchange = false)"
        : "";
      // 401: the GitHub token was refused; the caller refreshes it once and tries again.
      return errorResponse(
        res.status === 401 ? 401 : 502,
        `ccmux: the Copilot token exchange at ${where} answered HTTP ${res.status}${why}`,
      );
    }
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const token = typeof body?.token === "string" ? body.token : undefined;
    const expiresAt = typeof body?.expires_at === "number" ? body.expires_at * 1000 : undefined;
    if (!token || !expiresAt) {
      return errorResponse(
        502,
        `ccmux: the Copilot token exchange at ${where} answered without a token and expires_at`,
      );
    }
    const now = this.#now();
    const refreshIn = typeof body?.refresh_in === "number" ? body.refresh_in * 1000 : Infinity;
    const endpoints = body?.endpoints as Record<string, unknown> | undefined;
    return {
      github,
      token,
      base: usableBase(endpoints?.api),
      renewAt: Math.min(expiresAt - SESSION_RENEW_BEFORE_MS, now + refreshIn),
    };
  }
}

/** endpoints.api when it is https (or http on this machine), without a trailing slash. */
function usableBase(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  try {
    const u = new URL(v);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    if (u.protocol === "https:" || (u.protocol === "http:" && isLoopbackHost(host))) {
      return v.replace(/\/+$/, "");
    }
  } catch { /* not a URL */ }
  return undefined;
}

function originPath(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}
