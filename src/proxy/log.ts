// serve's log: one line per request plus occasional events, as text or JSON (docs/CONFIG.md,
// "Logs"). Never a token, key or body: callers pass only the fields below. Values a client
// chose (model names, paths, header names) are escaped, so no one can forge a line or send
// escape sequences to the terminal that shows the log.
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
  /** The upstream's prompt-cache counts (Anthropic's names), when it reports them. */
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  /** "p1 connect ECONNREFUSED", "p2 529", "p3 200" — present when more than one was tried. */
  failover?: string[];
  /** The upstream's request-id header (helps when reporting problems to the provider). */
  upstream_request_id?: string;
  /** Set when the request ended abnormally: "client closed", "upstream error: ...". */
  error?: string;
  /** Credential retries: "up 401 → token refreshed → retried". */
  retries?: string[];
  /** log_level "debug" only: the names (never the values) of the client's request headers. */
  header_names?: string[];
  /** log_level "debug" only: the candidates in the order they would be tried. */
  candidates?: string[];
  /** log_level "debug" only: time to read the body, and to route it. */
  read_ms?: number;
  route_ms?: number;
}

/**
 * C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators: what can end a
 * line or start a terminal escape sequence.
 */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// deno-lint-ignore no-control-regex
const UNSAFE_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const escapeChar = (c: string) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * `s` with every character of UNSAFE written as an escape (`\n`, `\r`, `\t`, `\u001b`, …).
 * A plain string (the usual case) costs one regex test and comes back as it is.
 */
export function logSafe(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escapeChar) : s;
}

/**
 * JSON.stringify escapes C0 controls but leaves DEL, C1 controls and U+2028/U+2029 as they
 * are: written as `\uXXXX` here too (still the same JSON value).
 */
function jsonLine(value: unknown): string {
  const text = JSON.stringify(value);
  return (UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escapeChar) : text) + "\n";
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
      this.sink(jsonLine({ time, level: "info", ...r }));
      return;
    }
    let line = `${time} ${r.id} ${r.method} ${logSafe(r.path)} ${r.status}`;
    if (r.model !== undefined || r.provider !== undefined) {
      line += ` ${r.model === undefined ? "?" : logSafe(r.model)} → ${r.provider ?? "?"}/${
        r.upstream_model === undefined ? "?" : logSafe(r.upstream_model)
      }`;
    }
    if (r.rule) line += ` rule=${r.rule}`;
    line += ` ${r.duration_ms}ms`;
    if (r.ttfb_ms !== undefined) line += ` ttfb=${r.ttfb_ms}ms`;
    if (r.input_tokens !== undefined || r.output_tokens !== undefined) {
      line += ` tokens=${r.input_tokens ?? "?"}/${r.output_tokens ?? "?"}`;
    }
    if (r.upstream_request_id) line += ` upstream_id=${logSafe(r.upstream_request_id)}`;
    if (r.retries?.length) line += ` retry: ${r.retries.join("; ")}`;
    if (r.failover && r.failover.length > 1) {
      line += ` failover: ${logSafe(r.failover.join(" → "))}`;
    }
    if (r.candidates) {
      line += ` route=${logSafe(r.route ?? "?")} candidates=${logSafe(r.candidates.join(","))}`;
    }
    if (r.read_ms !== undefined) line += ` read=${r.read_ms}ms route_time=${r.route_ms ?? "?"}ms`;
    if (r.header_names) line += ` headers=${logSafe(r.header_names.join(","))}`;
    if (r.error) line += ` error="${logSafe(r.error)}"`;
    this.sink(line + "\n");
  }

  /** An event that is not a request (startup, reload, errors); `fields` go into JSON lines. */
  event(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (LEVELS[level] > this.#level) return;
    const time = new Date().toISOString();
    this.sink(
      this.format === "json"
        ? jsonLine({ time, level, message, ...fields })
        : `${time} ${level.toUpperCase()} ${logSafe(message)}\n`,
    );
  }
}
