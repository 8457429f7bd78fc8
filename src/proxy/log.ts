// serve's log: one line per request (CONTRACT §7) plus occasional events, as text or JSON.
// Never a token, key or body: callers pass only the fields below.
import type { LogLevel } from "../config/types.ts";

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** The facts of one finished request. */
export interface RequestLog {
  id: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  /** Time to the first response body byte sent to the client. */
  ttfb_ms?: number;
  /** The model the client asked for. */
  model?: string;
  /** The provider and model that answered (or the last one tried). */
  provider?: string;
  upstream_model?: string;
  /** Which routing rule picked the model, and the model name it picked. */
  rule?: string;
  route?: string;
  input_tokens?: number;
  output_tokens?: number;
  /** "p1 connect ECONNREFUSED", "p2 529", "p3 200" — present when more than one was tried. */
  failover?: string[];
  /** The upstream's request-id header (helps when reporting problems to the provider). */
  upstream_request_id?: string;
  /** Set when the request ended abnormally: "client closed", "upstream error: ...". */
  error?: string;
}

let cachedSecond = NaN;
let cachedPrefix = "";

/**
 * `new Date().toISOString()`, with the "YYYY-MM-DDTHH:MM:SS." part built once per second
 * (formatting a Date is a visible cost when every request writes a line).
 */
export function isoNow(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  return cachedPrefix + (ms < 10 ? "00" : ms < 100 ? "0" : "") + ms + "Z";
}

/** A level-filtered line writer. */
export class Logger {
  #level: number;
  constructor(
    readonly sink: (line: string) => void,
    level: LogLevel = "info",
    readonly format: "text" | "json" = "text",
  ) {
    this.#level = LEVELS[level];
  }

  enabled(level: LogLevel): boolean {
    return LEVELS[level] <= this.#level;
  }

  /** One line for a finished request (level info). */
  request(r: RequestLog): void {
    if (this.#level < LEVELS.info) return;
    const time = isoNow();
    if (this.format === "json") {
      this.sink(JSON.stringify({ time, level: "info", ...r }) + "\n");
      return;
    }
    let line = `${time} ${r.id} ${r.method} ${r.path} ${r.status}`;
    if (r.model !== undefined || r.provider !== undefined) {
      line += ` ${r.model ?? "?"} → ${r.provider ?? "?"}/${r.upstream_model ?? "?"}`;
    }
    if (r.rule) line += ` rule=${r.rule}`;
    line += ` ${r.duration_ms}ms`;
    if (r.ttfb_ms !== undefined) line += ` ttfb=${r.ttfb_ms}ms`;
    if (r.input_tokens !== undefined || r.output_tokens !== undefined) {
      line += ` tokens=${r.input_tokens ?? "?"}/${r.output_tokens ?? "?"}`;
    }
    if (r.upstream_request_id) line += ` upstream_id=${r.upstream_request_id}`;
    if (r.failover && r.failover.length > 1) line += ` failover: ${r.failover.join(" → ")}`;
    if (r.error) line += ` error="${r.error}"`;
    this.sink(line + "\n");
  }

  /** An event that is not a request (startup, reload, errors). */
  event(level: LogLevel, message: string): void {
    if (LEVELS[level] > this.#level) return;
    const time = new Date().toISOString();
    this.sink(
      this.format === "json"
        ? JSON.stringify({ time, level, message }) + "\n"
        : `${time} ${level.toUpperCase()} ${message}\n`,
    );
  }
}
