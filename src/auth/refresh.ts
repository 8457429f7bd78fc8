// Fresh access tokens: refresh before expiry, one refresh per account at a time in the process
// (single flight) and across processes (the token store's lock, then a re-read that skips the
// network when someone else already refreshed). oauth4webapi is imported only when a refresh
// really happens, so `ccmux token` on a fresh token stays fast.
import process from "node:process";
import type { Config } from "../config/types.ts";
import type { TokenFile, TokenRecord } from "./types.ts";
import {
  accountProblem,
  type FileIdentity,
  openTokenStore,
  sameIdentity,
  TokenFileError,
  type TokenStore,
} from "./token_store.ts";
import { LockFileError, LockTimeoutError } from "./lock.ts";
import { type ResolvedOAuth, resolveOAuth } from "./kinds.ts";
import { postRefresh, RefreshError } from "./refresh_request.ts";

export { RefreshError } from "./refresh_request.ts";

/** The account is missing or its refresh token is dead: `ccmux login ID` is needed. */
export class LoginRequiredError extends Error {
  constructor(readonly id: string, reason: string, hint = `run: ccmux login ${id}`) {
    super(`${reason}; ${hint}`);
    this.name = "LoginRequiredError";
  }
}

/** Options for TokenManager. */
export interface TokenManagerOptions {
  config: Config;
  /** Defaults to the config's token file. */
  store?: TokenStore;
  fetch?: typeof fetch;
  /** Clock in ms (tests). */
  now?: () => number;
  /**
   * How long (ms) a read of the token file is trusted without looking at the file again
   * (default 1000; 0 reads it on every call). After that, one stat decides whether to re-read,
   * so a login, logout or refresh by another process is seen within this time. Expiry is
   * checked on every call regardless, and refreshes always re-read the file under its lock.
   */
  cacheMs?: number;
  /**
   * Where problems with the token file go (serve's log). When set, a file that turns
   * unreadable is reported once per version and the last good read keeps being used (a
   * long-running server keeps serving); without it (the CLI) the error is thrown to the caller.
   */
  report?: (level: "error" | "warn" | "info", message: string) => void;
}

/** The token file as last read, and when its identity was last confirmed. */
interface Snapshot {
  doc: TokenFile;
  identity?: FileIdentity;
  /** monotonicMs() of the read or of the last stat that found the file unchanged. */
  checkedAt: number;
}

type Trigger =
  | { type: "expiry" }
  | { type: "force"; seen: string }
  | { type: "reject"; rejected: string }
  | { type: "ahead"; withinMs: number };

type Outcome =
  | { ok: TokenRecord }
  | { login: string }
  | { broken: string }
  | { error: RefreshError };

/**
 * Hands out valid access tokens for the accounts in the token file.
 *
 * @example
 * ```ts
 * const tokens = new TokenManager({ config });
 * const { access_token } = await tokens.accessToken("claude-max");
 * ```
 */
export class TokenManager {
  readonly store: TokenStore;
  #config: Config;
  #fetch: typeof fetch;
  #now: () => number;
  #inflight = new Map<string, Promise<TokenRecord>>();
  #cacheMs: number;
  #snap: Snapshot | undefined;
  /** A stat/re-read under way, shared by concurrent callers. */
  #loading: Promise<TokenFile> | undefined;
  /** Bumped when this process changed the file: loads started before must not be kept. */
  #generation = 0;
  #report: TokenManagerOptions["report"];
  /** The unreadable version of the file already reported (one log line per version). */
  #reported: { identity?: FileIdentity; message: string } | undefined;

  constructor(opts: TokenManagerOptions) {
    this.#config = opts.config;
    this.#report = opts.report;
    const report = opts.report;
    this.store = opts.store ??
      openTokenStore(opts.config, {
        warn: report ? (m) => report("warn", m) : undefined,
      });
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#now = opts.now ?? Date.now;
    this.#cacheMs = opts.cacheMs ?? 1000;
  }

  /** A record whose access token is valid for at least refresh_skew_s (refreshing if needed). */
  async accessToken(id: string, opts: { force?: boolean } = {}): Promise<TokenRecord> {
    // Per request in `serve`: the cached file (no I/O within cacheMs) unless forced.
    const doc = opts.force ? await this.#reload() : await this.#current();
    const rec = this.#usable(doc, id);
    if (opts.force) return this.#singleFlight(id, { type: "force", seen: rec.access_token });
    if (!this.#expiring(rec)) return rec;
    if (!rec.refresh_token) {
      if (!this.#expired(rec)) return rec;
      throw new LoginRequiredError(id, `the access token for '${id}' expired and cannot refresh`);
    }
    return this.#singleFlight(id, { type: "expiry" });
  }

  /**
   * After the upstream rejected `rejectedAccessToken` (HTTP 401): a new record, refreshed
   * unless the stored token already differs from the rejected one.
   */
  async refreshAfterReject(id: string, rejectedAccessToken: string): Promise<TokenRecord> {
    // Compared with the file as it is now, not the cache: another process may have refreshed.
    const doc = await this.#reload();
    const rec = this.#usable(doc, id);
    if (rec.access_token !== rejectedAccessToken) return rec;
    return this.#singleFlight(id, { type: "reject", rejected: rejectedAccessToken });
  }

  /**
   * The account's record as the file holds it now (the cached read), without refreshing;
   * undefined when it is missing, malformed or the file cannot be read. For the background
   * refresher, which decides from the expiry when to call refreshAhead().
   */
  async peek(id: string): Promise<TokenRecord | undefined> {
    try {
      const doc = await this.#current();
      const rec = Object.hasOwn(doc, id) ? doc[id] : undefined;
      return rec && !accountProblem(rec) ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Refreshes the account when it expires within `withinMs` (background refresh, off the
   * request path), through the same single flight, lock and re-read as accessToken(): when
   * another process refreshed meanwhile, nothing is sent.
   */
  async refreshAhead(id: string, withinMs: number): Promise<TokenRecord> {
    const rec = this.#usable(await this.#reload(), id);
    if (!rec.refresh_token || !this.#expiringWithin(rec, withinMs)) return rec;
    return this.#singleFlight(id, { type: "ahead", withinMs });
  }

  /** The account's record, or LoginRequiredError: missing, malformed or signed out. */
  #usable(doc: TokenFile, id: string): TokenRecord {
    const rec = Object.hasOwn(doc, id) ? doc[id] : undefined;
    if (!rec) throw new LoginRequiredError(id, `no account '${id}' in ${this.store.path}`);
    const problem = accountProblem(rec);
    if (problem) throw brokenAccount(id, this.store.path, problem);
    if (rec.needs_login) throw new LoginRequiredError(id, `the sign-in for '${id}' has expired`);
    return rec;
  }

  /** Concurrent callers for one account share one refresh. */
  #singleFlight(id: string, trigger: Trigger): Promise<TokenRecord> {
    const running = this.#inflight.get(id);
    if (running) return running;
    const p = this.#refresh(id, trigger).finally(() => {
      this.#inflight.delete(id);
      // The file may have been rewritten: the next call looks at it again.
      this.#generation++;
      this.#snap = undefined;
    });
    this.#inflight.set(id, p);
    return p;
  }

  /** The token file, from the snapshot while it is younger than cacheMs. */
  #current(): Promise<TokenFile> {
    const snap = this.#snap;
    if (snap && monotonicMs() - snap.checkedAt < this.#cacheMs) {
      return Promise.resolve(snap.doc);
    }
    if (!this.#loading) {
      this.#loading = this.#revalidate(snap).finally(() => this.#loading = undefined);
    }
    return this.#loading;
  }

  /** One stat; the snapshot is kept when the file is the same version, else re-read. */
  async #revalidate(snap: Snapshot | undefined): Promise<TokenFile> {
    if (snap) {
      const generation = this.#generation;
      const identity = await this.store.identity();
      if (sameIdentity(identity, snap.identity) && generation === this.#generation) {
        snap.checkedAt = monotonicMs();
        return snap.doc;
      }
    }
    return this.#reload();
  }

  /** Reads the file now and makes it the snapshot. */
  async #reload(): Promise<TokenFile> {
    const generation = this.#generation;
    let read;
    try {
      read = await this.store.readVersioned();
    } catch (e) {
      return this.#unreadable(e, generation);
    }
    const { doc, identity } = read;
    if (generation === this.#generation) {
      this.#snap = { doc, identity, checkedAt: monotonicMs() };
    }
    if (this.#reported) {
      this.#reported = undefined;
      this.#report?.("info", `the token file ${this.store.path} is readable again`);
    }
    return doc;
  }

  /**
   * The file cannot be used (corrupt, refused): with a reporter (serve), report it once per
   * version of the file and go on with the last good read, if any; it is never overwritten
   * (writes re-read it under the lock and fail). Otherwise the error goes to the caller.
   */
  async #unreadable(e: unknown, generation: number): Promise<TokenFile> {
    if (!(e instanceof TokenFileError) || !this.#report) throw e;
    const identity = await this.store.identity().catch(() => undefined);
    const known = this.#reported;
    if (!known || known.message !== e.message || !sameIdentity(known.identity, identity)) {
      this.#reported = { identity, message: e.message };
      const last = this.#snap;
      this.#report(
        "error",
        `${e.message}; ` +
          (last
            ? "serving with the tokens last read from it until it is fixed (it is not overwritten)"
            : "OAuth providers fail until it is fixed (it is not overwritten)"),
      );
    }
    const last = this.#snap;
    if (!last) throw e;
    // Looked at again once cacheMs has passed (a fixed file is picked up then).
    if (generation === this.#generation) last.checkedAt = monotonicMs();
    return last.doc;
  }

  async #refresh(id: string, trigger: Trigger): Promise<TokenRecord> {
    try {
      return await this.#refreshLocked(id, trigger);
    } catch (e) {
      // The file or its lock is unusable: this refresh failed (and the server was not asked).
      if (
        e instanceof TokenFileError || e instanceof LockFileError || e instanceof LockTimeoutError
      ) {
        if (e instanceof TokenFileError) void this.#unreadable(e, this.#generation).catch(() => {});
        throw new RefreshError(`cannot refresh '${id}': ${e.message}`, { cause: e });
      }
      throw e;
    }
  }

  async #refreshLocked(id: string, trigger: Trigger): Promise<TokenRecord> {
    const outcome = await this.store.update(async (doc): Promise<Outcome> => {
      const rec = Object.hasOwn(doc, id) ? doc[id] : undefined;
      if (!rec) return { login: `no account '${id}' in ${this.store.path}` };
      const problem = accountProblem(rec);
      if (problem) return { broken: problem };
      if (rec.needs_login) return { login: `the sign-in for '${id}' has expired` };
      // Another process may have refreshed while we waited for the lock.
      if (trigger.type === "expiry" && !this.#expiring(rec)) return { ok: rec };
      if (trigger.type === "force" && rec.access_token !== trigger.seen) return { ok: rec };
      if (trigger.type === "reject" && rec.access_token !== trigger.rejected) return { ok: rec };
      if (trigger.type === "ahead" && !this.#expiringWithin(rec, trigger.withinMs)) {
        return { ok: rec };
      }
      if (!rec.refresh_token) return { login: `the account '${id}' has no refresh token` };
      const oauth = resolveOAuth(this.#config, id, rec.kind);
      if (!oauth) {
        return {
          error: new RefreshError(
            `cannot refresh '${id}': unknown OAuth kind; set [oauth.${id}] kind`,
          ),
        };
      }
      return await this.#callServer(doc, id, rec, oauth);
    });
    if ("ok" in outcome) return outcome.ok;
    if ("login" in outcome) throw new LoginRequiredError(id, outcome.login);
    if ("broken" in outcome) throw brokenAccount(id, this.store.path, outcome.broken);
    throw outcome.error;
  }

  async #callServer(
    doc: TokenFile,
    id: string,
    rec: TokenRecord,
    oauth: ResolvedOAuth,
  ): Promise<Outcome> {
    const res = await postRefresh(oauth, rec.refresh_token!, this.#fetch);
    if ("dead" in res) {
      doc[id] = { ...rec, needs_login: true };
      return { login: `the sign-in for '${id}' is no longer valid (${res.dead})` };
    }
    if ("error" in res) {
      if (res.rotated) doc[id] = { ...rec, refresh_token: res.rotated };
      return { error: res.error };
    }
    const t = res.tokens;
    const next: TokenRecord = { ...rec, access_token: t.access_token, token_type: "bearer" };
    // Servers rotate refresh tokens: the new one replaces the spent one before anyone uses
    // the new access token (the file is written before update() returns).
    if (t.refresh_token) next.refresh_token = t.refresh_token;
    if (typeof t.expires_in === "number") {
      next.expires_at = rfc3339(this.#now() + t.expires_in * 1000);
    } else delete next.expires_at;
    if (typeof t.scope === "string" && t.scope.trim()) next.scopes = t.scope.trim().split(/\s+/);
    if (typeof t.id_token === "string") next.id_token = t.id_token;
    delete next.needs_login;
    doc[id] = next;
    return { ok: next };
  }

  #expiresAt(rec: TokenRecord): number | undefined {
    if (!rec.expires_at) return undefined;
    const t = Date.parse(rec.expires_at);
    return Number.isNaN(t) ? 0 : t; // an unreadable expiry is treated as expired
  }

  #expiring(rec: TokenRecord): boolean {
    return this.#expiringWithin(rec, this.#config.auth.refresh_skew_s * 1000);
  }

  #expiringWithin(rec: TokenRecord, ms: number): boolean {
    const at = this.#expiresAt(rec);
    return at !== undefined && at - this.#now() <= ms;
  }

  #expired(rec: TokenRecord): boolean {
    const at = this.#expiresAt(rec);
    return at !== undefined && at <= this.#now();
  }
}

/** A malformed record: the user removes it and signs in again (the other accounts still work). */
export function brokenAccount(id: string, path: string, problem: string): LoginRequiredError {
  return new LoginRequiredError(
    id,
    `the account '${id}' in ${path} is malformed (${problem})`,
    `remove it with: ccmux logout ${id}, then sign in again with: ccmux login ${id}`,
  );
}

/**
 * A monotonic clock in ms (wall-clock steps do not stretch the cache window). Not
 * `performance.now()`: on Node its first use loads perf_hooks, ~1 ms of `ccmux token`.
 */
function monotonicMs(): number {
  return process.uptime() * 1000;
}

/** RFC 3339 in UTC without milliseconds, as in the seed's files. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
