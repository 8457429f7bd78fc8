// The Codex backend's usage limit: HTTP 429 with `{"error":{"type":"usage_limit_reached",
// "resets_at":<unix s>,"resets_in_seconds":N,…}}`, and rate-limit headers on every answer
// (`x-codex-primary-*` for the 5-hour window, `x-codex-secondary-*` for the weekly one:
// used-percent, window-minutes, reset-at in unix seconds, reset-after-seconds).
import type { Exhaustion } from "./quota.ts";

type Obj = Record<string, unknown>;

const USAGE_LIMIT_TYPES = new Set(["usage_limit_reached"]);

function num(v: unknown): number | undefined {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

/** A used-up window from the x-codex-* headers (the later reset when both are used up). */
function windowFromHeaders(headers: Headers, now: number): Exhaustion | undefined {
  let best: Exhaustion | undefined;
  for (const w of ["primary", "secondary"]) {
    const used = num(headers.get(`x-codex-${w}-used-percent`));
    if (used === undefined || used < 100) continue;
    const at = num(headers.get(`x-codex-${w}-reset-at`));
    const after = num(headers.get(`x-codex-${w}-reset-after-seconds`));
    const until = at !== undefined ? at * 1000 : after !== undefined ? now + after * 1000 : NaN;
    if (!(until > now)) continue;
    const minutes = num(headers.get(`x-codex-${w}-window-minutes`));
    const window = `${w}${minutes ? ` (${minutes} min)` : ""} window`;
    if (!best || until > best.until) best = { until, window };
  }
  return best;
}

/**
 * The exhaustion a Codex answer reports: a 429 whose body is `usage_limit_reached` (reset from
 * `resets_at`, else `resets_in_seconds`, else the headers), or a 429 whose x-codex-* headers
 * show a window at 100 %. Undefined for any other answer (a plain rate limit is transient).
 */
export function codexUsageLimit(
  status: number,
  headers: Headers,
  body: unknown,
  now = Date.now(),
): Exhaustion | undefined {
  if (status !== 429) return undefined;
  const e = body && typeof body === "object" ? (body as Obj).error : undefined;
  const err: Obj = e && typeof e === "object" ? e as Obj : {};
  const fromHeaders = windowFromHeaders(headers, now);
  const limit = headers.get("x-codex-active-limit");
  if (typeof err.type === "string" && USAGE_LIMIT_TYPES.has(err.type)) {
    const at = num(err.resets_at);
    const inS = num(err.resets_in_seconds);
    const until = at !== undefined
      ? at * 1000
      : inS !== undefined
      ? now + inS * 1000
      : fromHeaders?.until;
    if (until === undefined || !(until > now)) {
      // Known exhausted, reset unknown: skip for an hour rather than retrying every request.
      return { until: now + 3600_000, window: fromHeaders?.window };
    }
    const window = fromHeaders?.window ?? (limit ? `${limit} limit` : undefined);
    return window ? { until, window } : { until };
  }
  return fromHeaders;
}
