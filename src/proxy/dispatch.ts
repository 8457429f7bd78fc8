// Failover dispatch (docs/CONFIG.md, "Failover"): try the route's candidates in priority order,
// moving on after a connection error, a timeout, a redirect, 408, 429, 5xx or an OAuth account's
// token problem — only while nothing has reached the client — then relay the chosen response
// chunk by chunk.
import { Buffer } from "node:buffer";
import type { Candidate, RouteDecision } from "./route_types.ts";
import type { ProviderAdapter, UpstreamRequest } from "./provider.ts";
import type { RequestLog } from "./log.ts";
import { errorResponse, sseErrorEvent, tokenErrorResponse } from "./errors.ts";
import { oauthAccount } from "./credentials.ts";
import { describeError } from "../errors.ts";
import { responseHeaders } from "./headers.ts";
import {
  type RawBody,
  type RawBodyHandlers,
  rawResponse,
  takeRawBody,
} from "../runtime/http_client.ts";
import { liteHeaders } from "../runtime/lite_headers.ts";
import { InvalidRequestError } from "../translate/validate.ts";
import { nestedDeeperThan } from "./body_scan.ts";
import { describeReset, exhaustedResponse, exhaustionOf, signalsOf } from "./quota.ts";
import { Cooldown, type PolicyChain } from "../quota/policy.ts";

/**
 * The deepest nesting of arrays and objects accepted in a body that ccmux must rewrite (a
 * subagent tag removed) or translate (OpenAI-compatible upstreams): far beyond any real request,
 * far below what recursive walks such as JSON.stringify survive.
 */
export const MAX_NESTING = 512;

/** The longest upstream `retry-after` honoured (by waiting) before trying the last candidate. */
export const MAX_RETRY_AFTER_MS = 2000;

/** The cool-down breaker lives with the other routing policies (src/quota/policy.ts). */
export { Cooldown };

/** The longest wait for a retryable error response's body before moving on. */
const ERROR_BODY_TIMEOUT_MS = 5000;

/** What dispatch needs besides the request. */
export interface DispatchOptions {
  /** By `provider.api`. */
  adapters: Record<string, ProviderAdapter>;
  /**
   * The routing policies (cool-down, quota: src/quota/policy.ts): which candidates to try in
   * which order; told what each attempt came to, and every answer's headers.
   */
  policy: PolicyChain;
  /** The client's request signal: aborts upstream while waiting for response headers. */
  clientSignal?: AbortSignal;
  /** Filled in as the request goes; passed to the observers once the response body has ended. */
  log: RequestLog;
  /** performance.now() when the request arrived. */
  started: number;
  /** Told of the finished request, in turn (the logger, usage records, metrics). */
  observers: readonly RequestObserver[];
}

/** Told of each finished request (once its response body has ended). */
export type RequestObserver = (log: RequestLog) => void;

const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

/** 3xx, and the status 0 of a fetch's opaque redirect. */
const isRedirect = (status: number) => status < 200 || (status >= 300 && status < 400);

/** Drops a response's body unread. */
function discard(res: Response): void {
  const raw = takeRawBody(res);
  if (raw) raw.cancel();
  else res.body?.cancel().catch(() => {});
}

/** One upstream attempt's failure that allows failover. */
interface Failure {
  step: string;
  timeout: boolean;
  /** A buffered upstream error response (small JSON), returned as-is if all candidates fail. */
  response?: { status: number; headers: Headers; body: Uint8Array };
  retryAfterMs?: number;
  /** A token problem of an OAuth candidate (sign-in needed, refresh failed). */
  token?: { error: Error; id: string };
}

/** The failure for an adapter's thrown error. */
function failureOf(e: unknown, cand: Candidate, timedOut: boolean): Failure {
  const name = cand.provider.name;
  const err = e as Error;
  if (err?.name === "LoginRequiredError" || err?.name === "RefreshError") {
    // A local failure of this candidate (its account needs `ccmux login` or its token server
    // failed): the next mapping may well work.
    const id = oauthAccount(cand.provider);
    const step = err.name === "LoginRequiredError"
      ? `${name} login needed (run: ccmux login ${id})`
      : `${name} OAuth refresh failed (${err.message})`;
    return { step, timeout: false, token: { error: err, id } };
  }
  if (timedOut) return { step: `${name} timeout`, timeout: true };
  if (err?.name === "ConnectTimeoutError") {
    return { step: `${name} connect timeout`, timeout: true };
  }
  return { step: `${name} ${describeError(e)}`, timeout: false };
}

/** Tries `decision.candidates` with failover and returns the response to send to the client. */
export async function dispatch(
  req: UpstreamRequest,
  decision: RouteDecision,
  opts: DispatchOptions,
): Promise<Response> {
  const { policy, log } = opts;
  const timeouts = req.config.server.timeouts;
  // The policies decide: exhausted providers are not tried before their reset (even as the last
  // resort), cooling ones only when nothing else is left, those near their quota last.
  const plan = policy.plan(decision.candidates);
  const steps = plan.steps;
  log.failover = steps;
  if (plan.exhaustedUntil !== undefined) {
    const until = plan.exhaustedUntil;
    log.status = 429;
    // The steps name each window and its reset.
    log.error = `every candidate's usage limit is reached: ${steps.join("; ")}`;
    finish(opts);
    return exhaustedResponse(
      "ccmux: every provider for this model has reached its usage limit",
      until,
    );
  }
  const list = plan.list;
  let last: Failure | undefined;
  let lastResponse: Failure["response"];
  /** The earliest reset of the accounts found used up on the way. */
  let earliest: number | undefined;
  let tooDeep: boolean | undefined;

  for (let i = 0; i < list.length; i++) {
    const cand = list[i];
    const name = cand.provider.name;
    log.provider = name;
    log.upstream_model = cand.actual_model;
    if (i === list.length - 1 && i > 0 && last?.retryAfterMs) {
      await sleep(last.retryAfterMs, opts.clientSignal);
    }
    if (opts.clientSignal?.aborted) break;
    if ((req.bodyChanged || cand.provider.api !== "anthropic") && (tooDeep ??= deep(req))) {
      return clientError(
        opts,
        `ccmux: the request body nests arrays and objects more than ${MAX_NESTING} levels deep`,
      );
    }
    const adapter = opts.adapters[cand.provider.api];
    const ac = new AbortController();
    let timedOut = false;
    // Until the response headers only: the body's silences are the upstream client's
    // idle_timeout_ms, so an answer that keeps streaming is never cut.
    const headersTimer = setTimeout(() => {
      timedOut = true;
      ac.abort(new Error("upstream timeout"));
    }, timeouts.api_timeout_ms);
    const onClientAbort = () => ac.abort(new Error("client closed"));
    opts.clientSignal?.addEventListener("abort", onClientAbort);
    let res: Response;
    try {
      if (!adapter) throw new Error(`no adapter for api '${cand.provider.api}'`);
      res = await adapter.send(req, cand, ac.signal);
    } catch (e) {
      clearTimeout(headersTimer);
      opts.clientSignal?.removeEventListener("abort", onClientAbort);
      if (opts.clientSignal?.aborted) break;
      // The request's own fault (a member translation cannot read; a stack overflow walking it):
      // the client's 400, never a failover or a provider's cool-down.
      if (e instanceof InvalidRequestError) return clientError(opts, `ccmux: ${e.message}`);
      if (e instanceof RangeError) {
        return clientError(opts, `ccmux: the request could not be processed (${e.message})`);
      }
      last = failureOf(e, cand, timedOut);
      steps.push(last.step);
      // A missing sign-in costs no upstream time: no reason to cool the provider down.
      if (last.token?.error.name !== "LoginRequiredError") policy.report(name, FAILED);
      continue;
    }
    clearTimeout(headersTimer);
    opts.clientSignal?.removeEventListener("abort", onClientAbort);
    if (isRedirect(res.status)) {
      // Never followed (the prompt and the provider's credentials would go to another origin)
      // nor passed on (the client would follow it): a failed upstream, whose Location stays here.
      ac.abort(new Error("redirect not followed"));
      discard(res);
      last = { step: `${name} redirect ${res.status} not followed`, timeout: false };
      steps.push(last.step);
      policy.report(name, FAILED);
      continue;
    }
    steps.push(`${name} ${res.status}`);
    // Every answer's quota signals (a few headers); a used-up account's 429 comes back here.
    const signalled = policy.observe(cand, res.status, signalsOf(res));
    const used = res.status === 429 ? exhaustionOf(res) ?? signalled : undefined;
    if (used) {
      // Not a passing failure: skipped until the reset, no cool-down, no wait before the next.
      policy.report(name, { kind: "exhausted", exhaustion: used });
      steps[steps.length - 1] = `${name} 429 usage limit` +
        `${used.window ? ` (${used.window})` : ""} until ${describeReset(used.until)}`;
      earliest = Math.min(earliest ?? Infinity, used.until);
    }
    if (RETRYABLE(res.status) && i < list.length - 1) {
      if (!used) policy.report(name, FAILED);
      // Error bodies are small: keep the bytes in case every other candidate fails too (but
      // never wait long for them).
      const bodyTimer = setTimeout(
        () => ac.abort(new Error("error body timeout")),
        Math.min(ERROR_BODY_TIMEOUT_MS, timeouts.api_timeout_ms),
      );
      let body: Uint8Array;
      try {
        body = new Uint8Array(await res.arrayBuffer());
      } catch {
        body = new Uint8Array(0);
      }
      clearTimeout(bodyTimer);
      lastResponse = { status: res.status, headers: res.headers, body };
      last = {
        step: steps[steps.length - 1],
        timeout: false,
        response: lastResponse,
        retryAfterMs: used ? undefined : retryAfterMs(res.headers),
      };
      continue;
    }
    // An exhausted provider is skipped until its reset: no cool-down as well.
    if (!RETRYABLE(res.status)) policy.report(name, OK);
    else if (!used) policy.report(name, FAILED);
    if (used && !exhaustionOf(res) && earliest !== undefined) {
      // The last mapping's account is used up too (its own 429): the client learns when the
      // first of them resets.
      ac.abort(new Error("usage limit"));
      discard(res);
      log.status = 429;
      log.error = `every candidate's usage limit is reached (first reset ${
        describeReset(earliest)
      }): ${steps.join("; ")}`;
      finish(opts);
      const out = exhaustedResponse(
        `ccmux: ${name}'s usage limit${used.window ? ` (${used.window})` : ""} is reached`,
        earliest,
      );
      copyRateLimitHeaders(res.headers, out.headers);
      return out;
    }
    return relay(res, ac, opts);
  }

  // Every candidate failed (or the client left).
  if (opts.clientSignal?.aborted) {
    log.status = 499;
    log.error = "client closed";
    finish(opts);
    return errorResponse(499, "client closed the request");
  }
  if (last?.token) {
    // The last candidate's account: `ccmux login ID` (401) or the refresh's cause (502).
    const res = tokenErrorResponse(last.token.error, last.token.id);
    log.status = res.status;
    log.error = last.step.slice(last.step.indexOf(" ") + 1);
    finish(opts);
    return res;
  }
  if (lastResponse) {
    log.status = lastResponse.status;
    finish(opts);
    return new Response(lastResponse.body as BodyInit, {
      status: lastResponse.status,
      headers: responseHeaders(lastResponse.headers),
    });
  }
  const status = last?.timeout ? 504 : 502;
  log.status = status;
  finish(opts);
  const tried = steps.join(" → ");
  return errorResponse(
    status,
    status === 504
      ? `ccmux: upstream timed out (${tried})`
      : `ccmux: no upstream could be reached (${tried})`,
  );
}

function deep(req: UpstreamRequest): boolean {
  return nestedDeeperThan(req.raw, MAX_NESTING);
}

/** A 400 invalid_request_error for a request ccmux cannot send anywhere. */
function clientError(opts: DispatchOptions, message: string): Response {
  opts.log.status = 400;
  opts.log.error = message.replace(/^ccmux: /, "");
  finish(opts);
  return errorResponse(400, message);
}

function finish(opts: DispatchOptions): void {
  opts.log.duration_ms = Math.round(performance.now() - opts.started);
  for (const o of opts.observers) o(opts.log);
}

const OK = { kind: "ok" } as const;
const FAILED = { kind: "failed" } as const;

/** The upstream's request-id and anthropic-ratelimit-* headers, onto ccmux's own answer. */
function copyRateLimitHeaders(from: Headers, to: Headers): void {
  const id = from.get("request-id");
  if (id) to.set("request-id", id);
  from.forEach((v, k) => {
    if (k.startsWith("anthropic-ratelimit-")) to.set(k, v);
  });
}

/**
 * Streams `res` to the client chunk by chunk. After the first byte there is no failover: an
 * upstream failure ends an SSE stream with an Anthropic `error` event. Cancelling (client
 * disconnect) aborts the upstream request.
 */
function relay(res: Response, ac: AbortController, opts: DispatchOptions): Response {
  const log = opts.log;
  log.status = res.status;
  const upstreamId = res.headers.get("request-id");
  if (upstreamId) log.upstream_request_id = upstreamId;
  // Node's upstream client hands over its body without a web stream (read before `res.body`,
  // which would build one); its headers then need no web Headers either.
  const raw = takeRawBody(res);
  const headers = responseHeaders(res.headers, raw ? liteHeaders() : undefined);
  const upstream = raw ? undefined : res.body;
  if (!raw && !upstream) {
    finish(opts);
    return new Response(null, { status: res.status, headers });
  }
  const sse = (res.headers.get("content-type") ?? "").includes("text/event-stream");
  let ended = false;
  // SSE bytes after the last event boundary, held back until their event is complete: a
  // mid-stream failure then drops the partial event instead of sending half a JSON object
  // (which a client's SSE parser would choke on before seeing ccmux's error event).
  let carry: Uint8Array | undefined;
  const end = (error?: string) => {
    if (ended) return;
    ended = true;
    if (error) log.error = error;
    finish(opts);
  };
  /** The part of `value` to send now (undefined: nothing yet), keeping SSE tails in `carry`. */
  const take = (value: Uint8Array): Uint8Array | undefined => {
    if (log.ttfb_ms === undefined) log.ttfb_ms = Math.round(performance.now() - opts.started);
    scanUsage(value, log);
    if (!sse) return value;
    // The usual case: no carry and the chunk ends on a boundary — forwarded without a copy.
    const bytes = carry ? Buffer.concat([carry, value]) : value;
    const cut = lastEventEnd(bytes);
    if (cut === bytes.byteLength) {
      carry = undefined;
      return bytes;
    }
    carry = cut === 0 ? bytes : bytes.subarray(cut);
    return cut > 0 ? bytes.subarray(0, cut) : undefined;
  };
  /** Where relayed bytes go: the raw body's handlers on Node, a web stream's controller else. */
  type Sink = { data(b: Uint8Array): void; end(): void; error(e: Error): void };
  /** A normal end: whatever the upstream sent last goes out as it is. */
  const close = (sink: Sink) => {
    if (carry) sink.data(carry);
    carry = undefined;
    sink.end();
    end();
  };
  /** An upstream failure after the first byte: an SSE error event, else the error itself. */
  const broke = (e: unknown, sink: Sink) => {
    if (ended) return;
    const why = ac.signal.aborted && String(ac.signal.reason).includes("timeout")
      ? "upstream timeout"
      : describeError(e);
    end(`upstream failed mid-response: ${why}`);
    if (sse) {
      carry = undefined;
      sink.data(Buffer.from(sseErrorEvent(`ccmux: the upstream response broke off (${why})`)));
      sink.end();
    } else sink.error(e instanceof Error ? e : new Error(String(e)));
  };
  const cancel = () => {
    end("client closed");
    ac.abort(new Error("client closed"));
  };

  if (raw) {
    // Node: the upstream's bytes handed on as a raw body too — the server writes them straight
    // to the client's socket (no web stream, no per-chunk promise); backpressure pauses the
    // upstream socket. Other readers (tests, hono) still get a web stream from `body`.
    const relayed: RawBody = {
      start(handlers: RawBodyHandlers) {
        raw.start({
          data(value) {
            const out = take(value);
            if (out) handlers.data(out);
          },
          end: () => close(handlers),
          error: (e) => broke(e, handlers),
        });
      },
      pause: () => raw.pause(),
      resume: () => raw.resume(),
      cancel() {
        cancel();
        raw.cancel();
      },
    };
    return rawResponse(res.status, headers, relayed);
  }

  const reader = upstream!.getReader();
  let sink: Sink;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      sink = {
        data: (b) => controller.enqueue(b),
        end: () => controller.close(),
        error: (e) => controller.error(e),
      };
    },
    async pull(controller) {
      // Loop until something is enqueued: a pull that enqueues nothing is not called again.
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (e) {
          broke(e, sink);
          return;
        }
        if (chunk.done) {
          close(sink);
          return;
        }
        const out = take(chunk.value);
        if (out) {
          controller.enqueue(out);
          return;
        }
      }
    },
    cancel() {
      cancel();
      reader.cancel().catch(() => {});
    },
  }, { highWaterMark: 0 });
  return new Response(body, { status: res.status, headers });
}

const LFLF = Buffer.from("\n\n");
const CRLFCRLF = Buffer.from("\r\n\r\n");

/** The offset just past the last SSE event boundary ("\n\n" or "\r\n\r\n") in `b`; 0 if none. */
export function lastEventEnd(b: Uint8Array): number {
  const n = b.byteLength;
  if (n >= 2 && b[n - 1] === 0x0a && b[n - 2] === 0x0a) return n;
  if (n >= 4 && b[n - 1] === 0x0a && b[n - 2] === 0x0d && b[n - 3] === 0x0a && b[n - 4] === 0x0d) {
    return n;
  }
  const buf = Buffer.from(b.buffer, b.byteOffset, n);
  const lf = buf.lastIndexOf(LFLF);
  const crlf = buf.lastIndexOf(CRLFCRLF);
  return Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 4);
}

const INPUT = Buffer.from('"input_tokens":');
const OUTPUT = Buffer.from('"output_tokens":');
const CACHE_READ = Buffer.from('"cache_read_input_tokens":');
const CACHE_WRITE = Buffer.from('"cache_creation_input_tokens":');

/**
 * Picks token counts out of passing bytes without decoding them: `"input_tokens":N` (the first,
 * from message_start or the JSON body) and the last `"output_tokens":N` (message_delta carries
 * the final count). A chunk with an output count may also carry a later input count (a
 * translated OpenAI stream's message_delta has the provider's real count where message_start
 * had an estimate): the last one wins. The cache counts are looked for only in a chunk that
 * had one of those (they sit in the same `usage` object). A number split across chunks is
 * simply missed.
 */
function scanUsage(chunk: Uint8Array, log: RequestLog): void {
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const out = buf.lastIndexOf(OUTPUT);
  let found = out !== -1;
  if (log.input_tokens === undefined || found) {
    const at = buf.lastIndexOf(INPUT);
    const n = at === -1 ? undefined : readInt(buf, at + INPUT.length);
    if (n !== undefined) {
      log.input_tokens = n;
      found = true;
    }
  }
  if (out !== -1) log.output_tokens = readInt(buf, out + OUTPUT.length);
  if (!found) return;
  const r = buf.lastIndexOf(CACHE_READ);
  if (r !== -1) log.cache_read_input_tokens = readInt(buf, r + CACHE_READ.length);
  const w = buf.lastIndexOf(CACHE_WRITE);
  if (w !== -1) log.cache_creation_input_tokens = readInt(buf, w + CACHE_WRITE.length);
}

function readInt(buf: Buffer, i: number): number | undefined {
  while (buf[i] === 0x20) i++;
  let n = 0;
  const start = i;
  for (; i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39; i++) n = n * 10 + buf[i] - 0x30;
  return i > start && i < buf.length ? n : undefined;
}

/** Seconds or HTTP-date; undefined when absent or longer than MAX_RETRY_AFTER_MS. */
function retryAfterMs(headers: Headers): number | undefined {
  const v = headers.get("retry-after");
  if (!v) return undefined;
  let ms = /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) * 1000 : Date.parse(v) - Date.now();
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  ms = Math.ceil(ms);
  return ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done);
  });
}
