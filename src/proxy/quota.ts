// The one quota hook of the dispatcher: a provider whose account has used up its plan's
// allowance is not tried until the allowance resets (longer than a cool-down, and without the
// cool-down's half-open trial). Adapters report an exhausted account by marking the error
// response they return (`markExhausted`); the dispatcher asks a QuotaPolicy before trying a
// provider and tells it what the adapters reported. `SkipUntil` is the in-memory policy; a
// quota module with windows, utilisation and persisted state can implement the same interface.
import { errorResponse } from "./errors.ts";

/** An account's allowance is used up until `until`. */
export interface Exhaustion {
  /** Epoch milliseconds when the allowance resets. */
  until: number;
  /** Which limit, when the upstream says (e.g. "codex primary (300 min)"). */
  window?: string;
}

/** What the dispatcher asks before trying a provider, and tells after an answer. */
export interface QuotaPolicy {
  /** Epoch ms until which `provider` must not be tried; undefined when it may be. */
  blockedUntil(provider: string, now?: number): number | undefined;
  /** An adapter reported `provider`'s allowance as used up. */
  exhausted(provider: string, e: Exhaustion): void;
}

/** Providers skipped until their reset time, kept in memory. */
export class SkipUntil implements QuotaPolicy {
  #until = new Map<string, Exhaustion>();

  blockedUntil(provider: string, now = Date.now()): number | undefined {
    const e = this.#until.get(provider);
    if (!e) return undefined;
    if (e.until > now) return e.until;
    this.#until.delete(provider);
    return undefined;
  }

  exhausted(provider: string, e: Exhaustion): void {
    this.#until.set(provider, e);
  }
}

const marks = new WeakMap<object, Exhaustion>();

/** Marks an adapter's error response as "this account is exhausted until …"; returns it. */
export function markExhausted(res: Response, e: Exhaustion): Response {
  marks.set(res, e);
  return res;
}

/** The exhaustion an adapter marked on `res`, if any. */
export function exhaustionOf(res: Response): Exhaustion | undefined {
  return marks.get(res);
}

/** "2026-05-04T23:16:08Z (in 3 h 51 min)". */
export function describeReset(until: number, now = Date.now()): string {
  const iso = new Date(Math.ceil(until / 1000) * 1000).toISOString().replace(".000Z", "Z");
  const min = Math.max(0, Math.ceil((until - now) / 60000));
  const span = min >= 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${min} min`;
  return `${iso} (in ${span})`;
}

/** Whole seconds from `now` to `until`, at least 1: a `retry-after` value. */
export function secondsUntil(until: number, now = Date.now()): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}

/**
 * The 429 a client gets for an exhausted allowance: Anthropic's rate_limit_error naming the
 * reset time, and `retry-after` in seconds to it.
 */
export function exhaustedResponse(message: string, until: number, now = Date.now()): Response {
  const res = errorResponse(429, `${message}; it resets at ${describeReset(until, now)}`);
  res.headers.set("retry-after", String(secondsUntil(until, now)));
  return res;
}
