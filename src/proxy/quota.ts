// The adapters' side of the quota hook. Adapters report an exhausted account by marking the
// error response they return (`markExhausted`); an adapter whose answer to the client does not
// carry the upstream's headers (a translated stream) marks it with them (`markSignals`), so the
// quota module (src/quota/) can read their quota signals. The dispatcher asks its policy chain
// (src/quota/policy.ts) before trying a provider and tells it what came back. `SkipUntil` is the
// smallest in-memory policy; src/quota/book.ts is the one serve uses.
import { errorResponse } from "./errors.ts";
import { describeReset, type Exhaustion, secondsUntil } from "../quota/reset.ts";
import type { HeaderSource } from "../quota/signals.ts";

export { describeReset, type Exhaustion, secondsUntil };

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
const signalHeaders = new WeakMap<object, HeaderSource>();

/** Marks an adapter's error response as "this account is exhausted until …"; returns it. */
export function markExhausted(res: Response, e: Exhaustion): Response {
  marks.set(res, e);
  return res;
}

/** The exhaustion an adapter marked on `res`, if any. */
export function exhaustionOf(res: Response): Exhaustion | undefined {
  return marks.get(res);
}

/** Marks `res` with the upstream headers its quota signals are read from; returns it. */
export function markSignals(res: Response, upstream: HeaderSource): Response {
  signalHeaders.set(res, upstream);
  return res;
}

/** The headers to read `res`'s quota signals from: the marked upstream ones, else its own. */
export function signalsOf(res: Response): HeaderSource {
  return signalHeaders.get(res) ?? res.headers;
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
