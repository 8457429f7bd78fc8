// Background refresh (`[auth] background_refresh`, serve only): each OAuth account the config
// uses is refreshed refresh_skew_s (plus up to 10% jitter, at most a minute) before it expires,
// off the request path, through the TokenManager's single flight and the token file's lock, so
// a long-idle serve never makes the first request of the morning wait on a refresh. A dead
// refresh token is marked needs_login by the manager and logged; other failures are logged and
// retried with backoff. Timers are unref'd (they never keep the process alive).
import { clearTimeout, setTimeout } from "node:timers";
import type { Config } from "../config/types.ts";
import type { TokenRecord } from "./types.ts";
import { LoginRequiredError } from "./refresh.ts";

/** What the refresher needs of a TokenManager. */
export interface RefreshTarget {
  peek(id: string): Promise<TokenRecord | undefined>;
  refreshAhead(id: string, withinMs: number): Promise<TokenRecord>;
}

/** Options for startBackgroundRefresh. */
export interface BackgroundOptions {
  tokens: RefreshTarget;
  config: Config;
  log: (level: "error" | "warn" | "info" | "debug", message: string) => void;
  now?: () => number;
  random?: () => number;
}

/** The longest sleep: a login, logout or refresh by another process is looked at this often. */
export const RECHECK_MS = 10 * 60_000;
const RETRY_MIN_MS = 30_000;

/** The OAuth accounts of the enabled providers. */
export function oauthAccounts(config: Config): string[] {
  const ids = config.providers
    .filter((p) => p.enabled && p.auth_type === "oauth" && p.oauth_provider)
    .map((p) => p.oauth_provider!);
  return [...new Set(ids)];
}

/** Starts one timer per account; returns stop(). */
export function startBackgroundRefresh(opts: BackgroundOptions): () => void {
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const skewMs = opts.config.auth.refresh_skew_s * 1000;
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const failures = new Map<string, number>();
  let stopped = false;

  const schedule = (id: string, ms: number) => {
    if (stopped) return;
    const t = setTimeout(() => void tick(id), Math.max(0, Math.min(ms, RECHECK_MS)));
    t.unref?.();
    timers.set(id, t);
  };

  const tick = async (id: string) => {
    if (stopped) return;
    const rec = await opts.tokens.peek(id);
    const at = rec?.expires_at ? Date.parse(rec.expires_at) : NaN;
    if (!rec || !rec.refresh_token || rec.needs_login || Number.isNaN(at)) {
      return schedule(id, RECHECK_MS); // nothing to refresh now; a sign-in may come
    }
    const jitter = Math.floor(random() * Math.min(60_000, skewMs / 10));
    const due = at - skewMs - jitter;
    if (due > now()) return schedule(id, due - now());
    try {
      const next = await opts.tokens.refreshAhead(id, skewMs + jitter);
      failures.delete(id);
      if (stopped) return;
      if (next.access_token !== rec.access_token) {
        opts.log(
          "info",
          `refreshed '${id}' in the background (expires ${next.expires_at ?? "never"})`,
        );
      }
      // Tokens that live shorter than the skew would be refreshed in a loop: pace them.
      const nextAt = next.expires_at ? Date.parse(next.expires_at) : NaN;
      schedule(id, nextAt - skewMs <= now() ? RETRY_MIN_MS : 0);
    } catch (e) {
      if (stopped) return;
      const msg = e instanceof Error ? e.message : String(e);
      if (e instanceof LoginRequiredError) {
        opts.log("warn", `background refresh of '${id}' failed: ${msg}`);
        return schedule(id, RECHECK_MS);
      }
      const n = (failures.get(id) ?? 0) + 1;
      failures.set(id, n);
      const wait = Math.min(RETRY_MIN_MS * 2 ** (n - 1), 5 * 60_000);
      opts.log(
        "warn",
        `background refresh of '${id}' failed (retrying in ${Math.round(wait / 1000)} s; ` +
          `requests still refresh on their own): ${msg}`,
      );
      schedule(id, wait);
    }
  };

  for (const id of oauthAccounts(opts.config)) schedule(id, 0);
  return () => {
    stopped = true;
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
  };
}
