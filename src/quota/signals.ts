// Reading the quota signals of each upstream family into one shape (docs/CONFIG.md, "Quota"):
//  - Anthropic subscriptions: `anthropic-ratelimit-unified-*` headers on every answer (status
//    allowed / allowed_warning / rejected, the 5 h and 7 d windows' utilization — a fraction —
//    and reset, the representative claim). Resets come as Unix seconds or RFC 3339; every header
//    is optional.
//  - Codex (ChatGPT plans): `x-codex-primary-*` (5 h) and `x-codex-secondary-*` (weekly) headers
//    on every answer (used-percent 0–100, window-minutes, reset-at in Unix seconds,
//    reset-after-seconds).
//  - The usage endpoints `status --quota` asks: Anthropic's api/oauth/usage (utilization 0–100,
//    RFC 3339 resets) and Codex's wham/usage.
// Pure functions: the request path calls `readSignals`, which looks at three headers before it
// does anything else.

/** One quota window as last reported. */
export interface QuotaWindow {
  /** "5h", "7d", "7d_opus", "primary", "secondary", … */
  name: string;
  /** Fraction used, 0..1 (may exceed 1). */
  utilization?: number;
  /** Epoch ms when the window resets. */
  resets_at?: number;
  /** The upstream's status of this window ("allowed", "allowed_warning", "rejected"). */
  status?: string;
  /** The window's length in minutes, when the upstream says. */
  minutes?: number;
}

/** What one answer said about the account's quota. */
export interface QuotaSignals {
  family: "anthropic" | "codex";
  /** The overall status ("allowed" | "allowed_warning" | "rejected"), when given. */
  status?: string;
  /** Anthropic's representative claim ("five_hour", "seven_day", …). */
  claim?: string;
  /** The overall reset (Anthropic `-unified-reset`), epoch ms. */
  resets_at?: number;
  windows: QuotaWindow[];
}

/** A header reader: web Headers and ccmux's lite headers both fit. */
export interface HeaderSource {
  get(name: string): string | null;
}

const A = "anthropic-ratelimit-unified-";
/** Anthropic's window names in its headers; `7d_oi` is a model-scoped weekly window. */
const ANTHROPIC_WINDOWS = ["5h", "7d", "7d_oi", "7d_opus", "7d_sonnet", "overage"];

/** A number from a header or JSON value; undefined when absent or not finite. */
export function num(v: unknown): number | undefined {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

/**
 * A reset time as epoch ms: Unix seconds (a plain number; values that are clearly
 * milliseconds are taken as such) or an RFC 3339 / ISO 8601 date. Undefined when unreadable.
 */
export function parseReset(v: unknown): number | undefined {
  if (v === null || v === undefined || v === "") return undefined;
  const n = num(v);
  if (n !== undefined) return n > 1e11 ? Math.round(n) : Math.round(n * 1000);
  if (typeof v !== "string") return undefined;
  const t = Date.parse(v.trim());
  return Number.isFinite(t) ? t : undefined;
}

/** The quota signals of an answer's headers, or undefined when it carries none (the usual case). */
export function readSignals(h: HeaderSource): QuotaSignals | undefined {
  const status = h.get(`${A}status`);
  const reset = status === null ? h.get(`${A}reset`) : null;
  if (status !== null || reset !== null || h.get(`${A}5h-utilization`) !== null) {
    return anthropicSignals(h, status);
  }
  if (h.get("x-codex-primary-used-percent") !== null) return codexSignals(h);
  return undefined;
}

function anthropicSignals(h: HeaderSource, status: string | null): QuotaSignals {
  const windows: QuotaWindow[] = [];
  for (const name of ANTHROPIC_WINDOWS) {
    const s = h.get(`${A}${name}-status`);
    const u = num(h.get(`${A}${name}-utilization`));
    const r = parseReset(h.get(`${A}${name}-reset`));
    if (s === null && u === undefined && r === undefined) continue;
    const w: QuotaWindow = { name };
    if (u !== undefined) w.utilization = u;
    if (r !== undefined) w.resets_at = r;
    if (s !== null) w.status = s;
    windows.push(w);
  }
  const out: QuotaSignals = { family: "anthropic", windows };
  if (status !== null) out.status = status;
  const claim = h.get(`${A}representative-claim`);
  if (claim !== null) out.claim = claim;
  const reset = parseReset(h.get(`${A}reset`));
  if (reset !== undefined) out.resets_at = reset;
  return out;
}

function codexSignals(h: HeaderSource, now = Date.now()): QuotaSignals {
  const windows: QuotaWindow[] = [];
  for (const name of ["primary", "secondary"]) {
    const used = num(h.get(`x-codex-${name}-used-percent`));
    if (used === undefined) continue;
    const w: QuotaWindow = { name, utilization: used / 100 };
    const at = parseReset(h.get(`x-codex-${name}-reset-at`));
    const after = num(h.get(`x-codex-${name}-reset-after-seconds`));
    const r = at ?? (after !== undefined ? now + after * 1000 : undefined);
    if (r !== undefined) w.resets_at = r;
    const minutes = num(h.get(`x-codex-${name}-window-minutes`));
    if (minutes) w.minutes = minutes;
    windows.push(w);
  }
  return { family: "codex", windows };
}

/** A used-up window of Anthropic signals: what makes the whole account unusable. */
export interface Exhausted {
  /** Epoch ms; undefined when the upstream gave no reset. */
  until?: number;
  /** "5h window", "7d window", or undefined for the overall status alone. */
  window?: string;
}

/**
 * Whether Anthropic signals mark the account as used up: a rejected 5 h or 7 d window (or
 * another credential-wide window), or a rejected overall status that is not only a
 * model-scoped weekly window (`7d_oi`, which other models may still use). The reset is the
 * latest of the rejected windows' resets, else the overall reset.
 */
export function anthropicExhausted(s: QuotaSignals): Exhausted | undefined {
  const rejected = s.windows.filter((w) => w.status === "rejected");
  const wide = rejected.filter((w) => w.name !== "7d_oi" && w.name !== "overage");
  if (wide.length > 0) {
    let best = wide[0];
    for (const w of wide) if ((w.resets_at ?? 0) > (best.resets_at ?? 0)) best = w;
    return { until: best.resets_at ?? s.resets_at, window: `${best.name} window` };
  }
  if (s.status !== "rejected") return undefined;
  if (rejected.length > 0 && rejected.every((w) => w.name === "7d_oi")) return undefined;
  const claimed = s.claim ? claimWindow(s.claim) : undefined;
  const w = claimed ? s.windows.find((x) => x.name === claimed) : undefined;
  return {
    until: s.resets_at ?? w?.resets_at,
    window: claimed ? `${claimed} window` : undefined,
  };
}

/** "five_hour" → "5h", "seven_day" → "7d", "seven_day_opus" → "7d_opus". */
export function claimWindow(claim: string): string | undefined {
  const m = /^(five_hour|seven_day)(?:_(.+))?$/.exec(claim);
  if (!m) return claim === "overage" ? "overage" : undefined;
  const base = m[1] === "five_hour" ? "5h" : "7d";
  return m[2] ? `${base}_${m[2] === "overage_included" ? "oi" : m[2]}` : base;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Anthropic's GET api/oauth/usage answer (utilization 0–100, RFC 3339 resets) as windows. */
export function anthropicUsageWindows(body: unknown): QuotaWindow[] {
  if (!isObj(body)) return [];
  const out: QuotaWindow[] = [];
  for (const [key, v] of Object.entries(body)) {
    if (!isObj(v)) continue;
    const u = num(v.utilization);
    if (u === undefined) continue;
    const w: QuotaWindow = { name: claimWindow(key) ?? key, utilization: u / 100 };
    const r = parseReset(v.resets_at);
    if (r !== undefined) w.resets_at = r;
    out.push(w);
  }
  return out;
}

/** Codex's GET wham/usage answer (`rate_limit.primary_window` / `secondary_window`) as windows. */
export function codexUsageWindows(body: unknown, now = Date.now()): QuotaWindow[] {
  const rl = isObj(body) && isObj(body.rate_limit) ? body.rate_limit : undefined;
  if (!rl) return [];
  const out: QuotaWindow[] = [];
  for (const name of ["primary", "secondary"]) {
    const v = rl[`${name}_window`];
    if (!isObj(v)) continue;
    const used = num(v.used_percent);
    if (used === undefined) continue;
    const w: QuotaWindow = { name, utilization: used / 100 };
    const after = num(v.reset_after_seconds);
    const r = parseReset(v.reset_at) ?? (after !== undefined ? now + after * 1000 : undefined);
    if (r !== undefined) w.resets_at = r;
    const secs = num(v.limit_window_seconds);
    if (secs) w.minutes = Math.round(secs / 60);
    out.push(w);
  }
  return out;
}

/** Copilot's snapshot names in `copilot_internal/user` → the window names ccmux shows. */
const COPILOT_SNAPSHOTS: Record<string, string> = {
  premium_interactions: "premium",
  chat: "chat",
  completions: "completions",
};

/**
 * GitHub's `copilot_internal/user` answer → windows: each metered snapshot of `quota_snapshots`
 * (`entitlement`, `remaining` or `percent_remaining`; an `unlimited` one is no window), all
 * resetting at `quota_reset_date`.
 */
export function copilotUsageWindows(body: unknown): QuotaWindow[] {
  if (!isObj(body) || !isObj(body.quota_snapshots)) return [];
  const resets = parseReset(body.quota_reset_date_utc ?? body.quota_reset_date);
  const out: QuotaWindow[] = [];
  for (const [key, name] of Object.entries(COPILOT_SNAPSHOTS)) {
    const v = body.quota_snapshots[key];
    if (!isObj(v) || v.unlimited === true) continue;
    const entitlement = num(v.entitlement);
    const remaining = num(v.remaining);
    const pct = num(v.percent_remaining);
    const utilization = entitlement && remaining !== undefined
      ? (entitlement - remaining) / entitlement
      : pct !== undefined
      ? 1 - pct / 100
      : undefined;
    if (utilization === undefined) continue;
    const w: QuotaWindow = { name, utilization: Math.min(Math.max(utilization, 0), 1) };
    if (resets !== undefined) w.resets_at = resets;
    out.push(w);
  }
  return out;
}
