// The dispatcher's one question, "may I try this provider now, and in which order", answered by
// a chain of routing policies (docs/ARCHITECTURE.md, "Policy chain"). Each policy judges a
// provider; the strongest verdict wins:
//  - exhausted: its plan's allowance is used up until a reset — never tried before it, not even
//    as the last resort (QuotaBook, src/quota/book.ts);
//  - cooling:   it failed `cooldown_failures` times in a row — tried only when nothing else is
//    left (Cooldown, below);
//  - later:     a quota window is at or above `quota_soft_limit` — tried after the others.
// After each attempt the dispatcher reports what came of it, and hands every answer's headers to
// `observe` (the quota signals), to all policies in turn.
import { describeReset, type Exhaustion } from "./reset.ts";
import type { HeaderSource } from "./signals.ts";

/** What the chain reads of a route's candidate (src/proxy/route_types.ts has the whole). */
export interface PlanCandidate {
  provider: { name: string; auth_type: string; oauth_provider?: string };
}

/** A policy's judgement of one provider (none: try it in its place). */
export type Verdict =
  | { kind: "exhausted"; until: number; window?: string }
  | { kind: "cooling" }
  | { kind: "later"; why: string };

/** What came of one attempt. */
export type Outcome =
  | { kind: "ok" }
  | { kind: "failed" }
  | { kind: "exhausted"; exhaustion: Exhaustion };

/** One answer as the policies see it: the provider, its account, the status and headers. */
export interface Observation {
  provider: string;
  /** The token-file account behind an oauth provider. */
  account?: string;
  status: number;
  headers: HeaderSource;
}

export interface RoutingPolicy {
  judge(provider: string, now: number): Verdict | undefined;
  report?(provider: string, outcome: Outcome, now: number): void;
  /** Reads an answer's signals; an exhaustion it reports makes the dispatcher fail over at once. */
  observe?(o: Observation, now: number): Exhaustion | undefined;
}

const RANK = { later: 1, cooling: 2, exhausted: 3 } as const;

/** The order to try candidates in, the steps for the log, and the earliest reset if none is left. */
export interface Plan<C extends PlanCandidate> {
  list: C[];
  steps: string[];
  /** Set when `list` is empty: every candidate is exhausted; the earliest reset. */
  exhaustedUntil?: number;
}

/** The policies a dispatcher asks, in turn. */
export class PolicyChain {
  constructor(readonly policies: readonly RoutingPolicy[]) {}

  /** Which candidates to try, in which order. */
  plan<C extends PlanCandidate>(candidates: readonly C[], now = Date.now()): Plan<C> {
    const steps: string[] = [];
    const fresh: C[] = [];
    const later: C[] = [];
    const cooling: C[] = [];
    let until = Infinity;
    for (const c of candidates) {
      const name = c.provider.name;
      let v: Verdict | undefined;
      for (const p of this.policies) {
        const w = p.judge(name, now);
        if (w && (!v || RANK[w.kind] > RANK[v.kind])) v = w;
      }
      if (!v) fresh.push(c);
      else if (v.kind === "exhausted") {
        until = Math.min(until, v.until);
        const what = v.window ? ` (${v.window})` : "";
        steps.push(`${name} skipped (usage limit${what} until ${describeReset(v.until, now)})`);
      } else if (v.kind === "cooling") cooling.push(c);
      else {
        later.push(c);
        steps.push(`${name} deferred (${v.why})`);
      }
    }
    let list = [...fresh, ...later];
    if (list.length === 0) {
      // Every usable candidate cools down: try them all rather than none.
      list = candidates.filter((c) => cooling.includes(c));
    } else {
      for (const c of cooling) steps.push(`${c.provider.name} skipped (cooling down)`);
    }
    return list.length === 0 ? { list, steps, exhaustedUntil: until } : { list, steps };
  }

  report(provider: string, outcome: Outcome, now = Date.now()): void {
    for (const p of this.policies) p.report?.(provider, outcome, now);
  }

  /** Hands an answer to every policy that reads signals; the first exhaustion reported wins. */
  observe(
    cand: PlanCandidate,
    status: number,
    headers: HeaderSource,
    now = Date.now(),
  ): Exhaustion | undefined {
    let found: Exhaustion | undefined;
    let o: Observation | undefined;
    for (const p of this.policies) {
      if (!p.observe) continue;
      o ??= {
        provider: cand.provider.name,
        account: cand.provider.auth_type === "oauth"
          ? cand.provider.oauth_provider ?? cand.provider.name
          : undefined,
        status,
        headers,
      };
      found ??= p.observe(o, now);
    }
    return found;
  }
}

/**
 * A circuit breaker per provider: after `failures` consecutive failures it is skipped for
 * `seconds` (unless no other candidate is left). When that time is up it is half-open: the next
 * request tries it, and that trial decides — a success closes the breaker, a failure opens it
 * again at once for another `seconds`. One success resets the count. An exhausted allowance is
 * the quota's business, not a failure here.
 */
export class Cooldown implements RoutingPolicy {
  #state = new Map<string, { failures: number; until: number }>();
  constructor(readonly failures: number, readonly seconds: number) {}

  judge(provider: string, now: number): Verdict | undefined {
    return this.cooling(provider, now) ? { kind: "cooling" } : undefined;
  }

  report(provider: string, outcome: Outcome, now: number): void {
    if (outcome.kind === "ok") this.succeeded(provider);
    else if (outcome.kind === "failed") this.failed(provider, now);
  }

  cooling(name: string, now = Date.now()): boolean {
    const s = this.#state.get(name);
    return s !== undefined && s.until > now;
  }

  failed(name: string, now = Date.now()): void {
    const s = this.#state.get(name) ?? { failures: 0, until: 0 };
    s.failures++;
    // `until` set and past: this was the half-open trial.
    if (this.failures > 0 && (s.failures >= this.failures || (s.until !== 0 && s.until <= now))) {
      s.until = now + this.seconds * 1000;
      s.failures = 0;
    }
    this.#state.set(name, s);
  }

  succeeded(name: string): void {
    if (this.#state.size) this.#state.delete(name);
  }

  /** Providers cooling down now, and until when (for status pages). */
  snapshot(now = Date.now()): { provider: string; until: number }[] {
    const out: { provider: string; until: number }[] = [];
    for (const [provider, s] of this.#state) {
      if (s.until > now) out.push({ provider, until: s.until });
    }
    return out;
  }
}
