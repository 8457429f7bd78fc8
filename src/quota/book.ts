// The quota windows serve knows, per provider (and the account behind it): the latest signals
// of each answer (src/quota/signals.ts), and which providers are exhausted until when. As a
// routing policy (src/quota/policy.ts) it skips an exhausted provider until its reset and
// defers one at or above `[router] quota_soft_limit`. Its state is saved in
// $CCMUX_HOME/state/quota.json (src/quota/state.ts) and loaded at start.
import type { Exhaustion } from "./reset.ts";
import type { Observation, Outcome, RoutingPolicy, Verdict } from "./policy.ts";
import { anthropicExhausted, type QuotaSignals, type QuotaWindow, readSignals } from "./signals.ts";

/** The longest skip for an exhausted provider, whatever reset the upstream names. */
export const MAX_SKIP_MS = 7 * 24 * 3600_000;
/** The skip when the upstream says "exhausted" but names no reset (and sends no retry-after). */
export const UNKNOWN_RESET_MS = 3600_000;

/** What is known of one provider's quota. */
export interface ProviderQuota {
  provider: string;
  account?: string;
  family?: QuotaSignals["family"];
  status?: string;
  claim?: string;
  /** Epoch ms. */
  resets_at?: number;
  windows: QuotaWindow[];
  /** Epoch ms of the answer these came from. */
  updated_at: number;
  /** Skipped until this reset. */
  exhausted?: Exhaustion;
}

export class QuotaBook implements RoutingPolicy {
  #by = new Map<string, ProviderQuota>();
  /** Bumped on every change: the state writer saves when it moved. */
  version = 0;
  /** `[router] quota_soft_limit`; 1 or more is off. */
  softLimit = 1;

  constructor(saved: ProviderQuota[] = []) {
    for (const q of saved) this.#by.set(q.provider, q);
  }

  judge(provider: string, now: number): Verdict | undefined {
    const q = this.#by.get(provider);
    if (!q) return undefined;
    if (q.exhausted) {
      if (q.exhausted.until > now) {
        return { kind: "exhausted", until: q.exhausted.until, window: q.exhausted.window };
      }
      // The reset has come: try it again.
      q.exhausted = undefined;
      this.version++;
    }
    if (this.softLimit < 1) {
      const w = highest(q.windows, now);
      if (w && w.utilization! >= this.softLimit) {
        return {
          kind: "later",
          why: `${w.name} window at ${Math.round(w.utilization! * 100)} %, quota_soft_limit ${
            Math.round(this.softLimit * 100)
          } %`,
        };
      }
    }
    return undefined;
  }

  report(provider: string, outcome: Outcome, now: number): void {
    if (outcome.kind === "exhausted") this.exhausted(provider, outcome.exhaustion, undefined, now);
  }

  /**
   * Records an answer's signals. On a 429, signals that mark the account as used up (a rejected
   * window) come back as an exhaustion: skipped until the reset, failed over at once.
   */
  observe(o: Observation, now: number): Exhaustion | undefined {
    const s = readSignals(o.headers);
    if (!s) return undefined;
    const q: ProviderQuota = {
      provider: o.provider,
      family: s.family,
      windows: s.windows,
      updated_at: now,
    };
    if (o.account) q.account = o.account;
    if (s.status !== undefined) q.status = s.status;
    if (s.claim !== undefined) q.claim = s.claim;
    if (s.resets_at !== undefined) q.resets_at = s.resets_at;
    const prev = this.#by.get(o.provider);
    // A success says the account may be used: an earlier exhaustion is over.
    if (prev?.exhausted && o.status < 400) prev.exhausted = undefined;
    else if (prev?.exhausted) q.exhausted = prev.exhausted;
    this.#by.set(o.provider, q);
    this.version++;
    if (o.status !== 429 || s.family !== "anthropic") return undefined;
    const e = anthropicExhausted(s);
    if (!e) return undefined;
    let until = e.until;
    if (until === undefined) {
      const ra = Number(o.headers.get("retry-after"));
      until = now + (ra > 0 ? ra * 1000 : UNKNOWN_RESET_MS);
    }
    // A reset in the past: an ordinary 429 (the next request may try it again).
    if (!(until > now)) return undefined;
    return e.window ? { until, window: e.window } : { until };
  }

  /** Marks `provider` exhausted until `e.until` (at most MAX_SKIP_MS ahead). */
  exhausted(provider: string, e: Exhaustion, account?: string, now = Date.now()): void {
    if (!(e.until > now)) return;
    const until = Math.min(e.until, now + MAX_SKIP_MS);
    const q = this.#by.get(provider) ?? { provider, windows: [], updated_at: now };
    if (account) q.account = account;
    q.exhausted = e.window ? { until, window: e.window } : { until };
    this.#by.set(provider, q);
    this.version++;
  }

  /** Epoch ms until which `provider` is skipped (the QuotaPolicy question). */
  blockedUntil(provider: string, now = Date.now()): number | undefined {
    const v = this.judge(provider, now);
    return v?.kind === "exhausted" ? v.until : undefined;
  }

  get(provider: string): ProviderQuota | undefined {
    return this.#by.get(provider);
  }

  /** Everything known, for the state file and status pages. */
  snapshot(): ProviderQuota[] {
    return [...this.#by.values()];
  }
}

/** The most used window that has not reset yet. */
export function highest(windows: QuotaWindow[], now: number): QuotaWindow | undefined {
  let best: QuotaWindow | undefined;
  for (const w of windows) {
    if (w.utilization === undefined) continue;
    if (w.resets_at !== undefined && w.resets_at <= now) continue;
    if (!best || w.utilization > best.utilization!) best = w;
  }
  return best;
}
