// Usage records: per day (UTC), provider, upstream model and account — requests, errors and the
// upstream's own token counts (input, output, cache read, cache write), streamed answers
// included (the dispatcher reads them from the bytes it relays: src/proxy/dispatch.ts). Kept in
// memory, saved to $CCMUX_HOME/state/usage.json (src/quota/state.ts), read by `ccmux usage`.

/** One day × provider × model × account. */
export interface UsageRow {
  /** "YYYY-MM-DD" (UTC). */
  day: string;
  provider: string;
  model: string;
  /** The token-file account behind an oauth provider; null for API keys. */
  account: string | null;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}

/** One finished request, as the usage book counts it. */
export interface UsageEvent {
  provider: string;
  model: string;
  account: string | null;
  error: boolean;
  input_tokens?: number;
  output_tokens?: number;
  cache_read_tokens?: number;
  cache_write_tokens?: number;
}

/** How many days of records are kept. */
export const KEEP_DAYS = 400;

const DAY_MS = 86_400_000;

/** The last day computed and the UTC day it covers ([start, start + DAY_MS)). */
let cachedDay = "";
let cachedStart = NaN;

/** "YYYY-MM-DD" of `now` in UTC (formatted once a day: it is asked on every request). */
export function dayOf(now: number): string {
  if (!(now >= cachedStart && now < cachedStart + DAY_MS)) {
    cachedStart = now - (((now % DAY_MS) + DAY_MS) % DAY_MS);
    cachedDay = new Date(cachedStart).toISOString().slice(0, 10);
  }
  return cachedDay;
}

export class UsageBook {
  #rows = new Map<string, UsageRow>();
  /** Bumped on every change: the state writer saves when it moved. */
  version = 0;

  constructor(saved: UsageRow[] = []) {
    for (const r of saved) this.#rows.set(keyOf(r.day, r.provider, r.model, r.account), r);
  }

  record(e: UsageEvent, now = Date.now()): void {
    const day = dayOf(now);
    const key = keyOf(day, e.provider, e.model, e.account);
    let r = this.#rows.get(key);
    if (!r) {
      r = {
        day,
        provider: e.provider,
        model: e.model,
        account: e.account,
        requests: 0,
        errors: 0,
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
      };
      this.#rows.set(key, r);
    }
    r.requests++;
    if (e.error) r.errors++;
    r.input_tokens += e.input_tokens ?? 0;
    r.output_tokens += e.output_tokens ?? 0;
    r.cache_read_tokens += e.cache_read_tokens ?? 0;
    r.cache_write_tokens += e.cache_write_tokens ?? 0;
    this.version++;
  }

  /** Every row, oldest records over KEEP_DAYS dropped. */
  rows(now = Date.now()): UsageRow[] {
    const oldest = dayOf(now - KEEP_DAYS * DAY_MS);
    for (const [k, r] of this.#rows) if (r.day < oldest) this.#rows.delete(k);
    return [...this.#rows.values()];
  }
}

function keyOf(day: string, provider: string, model: string, account: string | null): string {
  return `${day}\u0000${provider}\u0000${model}\u0000${account ?? ""}`;
}

/**
 * The rows of the last `days` days (today included), newest day first, then by provider,
 * model and account.
 */
export function usageSince(rows: UsageRow[], days: number, now = Date.now()): UsageRow[] {
  const from = dayOf(now - (days - 1) * DAY_MS);
  return rows.filter((r) => r.day >= from).sort((a, b) =>
    a.day !== b.day
      ? (a.day < b.day ? 1 : -1)
      : a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model) ||
        (a.account ?? "").localeCompare(b.account ?? "")
  );
}
