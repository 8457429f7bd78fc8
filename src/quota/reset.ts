// Reset times: an exhausted allowance's shape, and how a reset is told to people (log lines,
// error messages) and to clients (`retry-after`).

/** An account's allowance is used up until `until`. */
export interface Exhaustion {
  /** Epoch milliseconds when the allowance resets. */
  until: number;
  /** Which limit, when the upstream says (e.g. "5h window", "primary (300 min) window"). */
  window?: string;
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
