// The upstream HTTP client: fetch() on Deno; on Node, node:http(s) with keep-alive agents,
// because undici's fetch costs several times the CPU of the request it makes (Request/Response
// objects, body extraction, signals) and ccmux makes one per proxied request.
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { isDeno } from "./info.ts";
import { liteHeaders } from "./lite_headers.ts";

/** What an upstream request needs. Header names lower-case. */
export interface UpstreamInit {
  method: string;
  headers: Record<string, string>;
  /** Pieces (Uint8Array[]) are sent back to back, without joining them first (Node). */
  body?: Uint8Array | string | Uint8Array[];
  signal?: AbortSignal;
  /**
   * Limit on establishing the connection (DNS, TCP, TLS handshake) — not on the wait for the
   * response. Node only: Deno's fetch has no connect hook, so there the whole request is
   * bounded by `signal` alone (a refused connection still fails at once; a host that never
   * answers the SYN waits for the caller's overall timeout).
   */
  connectTimeoutMs?: number;
  /**
   * Limit on the silence between two chunks of the response body, counted only while its reader
   * waits for data (a reader that stops reading, for backpressure, is not the upstream's
   * silence). The body then fails with IdleTimeoutError and the request is abandoned. A body that
   * keeps flowing is never cut, however long it runs.
   */
  idleTimeoutMs?: number;
}

/** The connection to the upstream was not established within `connectTimeoutMs`. */
export class ConnectTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
  constructor(ms: number) {
    super(`no connection within ${ms} ms`);
    this.name = "ConnectTimeoutError";
  }
}

/** The upstream sent no part of its response body within `idleTimeoutMs`. */
export class IdleTimeoutError extends Error {
  constructor(ms: number) {
    super(`the upstream sent nothing for ${ms} ms`);
    this.name = "IdleTimeoutError";
  }
}

/**
 * Calls `onIdle` once when `wait()` was called and no `rest()` or `wait()` followed within `ms`.
 * One timer per body, re-armed only when it fires, so a chunk costs a clock read, not a timer.
 */
class IdleWatch {
  /** performance.now() when the reader began to wait; -1 while it does not. */
  #since = -1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly ms: number, readonly onIdle: () => void) {}

  /** The reader waits for data from now on. */
  wait(): void {
    this.#since = performance.now();
    if (this.#timer === undefined) this.#arm(this.ms);
  }

  /** The reader does not wait (it paused, or holds a chunk). */
  rest(): void {
    this.#since = -1;
  }

  stop(): void {
    this.#since = -1;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#since < 0) return; // re-armed by the next wait()
      const left = this.#since + this.ms - performance.now();
      if (left > 0) this.#arm(left);
      else {
        this.#since = -1;
        this.onIdle();
      }
    }, ms);
  }
}

/** `res` with its body under an IdleWatch (Deno's fetch responses). */
function watchedResponse(res: Response, ms: number): Response {
  const upstream = res.body;
  if (!upstream) return res;
  const reader = upstream.getReader();
  let failed = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const watch = new IdleWatch(ms, () => {
    failed = true;
    const e = new IdleTimeoutError(ms);
    controller.error(e);
    reader.cancel(e).catch(() => {});
  });
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async pull(c) {
      watch.wait();
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        watch.stop();
        if (!failed) c.error(e);
        return;
      }
      if (failed) return;
      if (chunk.done) {
        watch.stop();
        c.close();
      } else {
        watch.rest();
        c.enqueue(chunk.value);
      }
    },
    cancel(reason) {
      watch.stop();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}

/**
 * A fetch-like call that resolves once the response headers are in; the body streams. Redirects
 * are never followed, on either runtime: a 3xx is returned as it is.
 */
export type UpstreamFetch = (url: string, init: UpstreamInit) => Promise<Response>;

/** The client for this runtime. */
export const upstreamFetch: UpstreamFetch = isDeno ? denoFetch : nodeFetch;

async function denoFetch(url: string, init: UpstreamInit): Promise<Response> {
  const res = await fetch(url, {
    method: init.method,
    headers: init.headers,
    body: Array.isArray(init.body) ? Buffer.concat(init.body) : init.body,
    signal: init.signal,
    // Never follow: the body and credentials would be re-sent to wherever Location points.
    // The 3xx itself comes back (node:http below does not follow redirects either).
    redirect: "manual",
  } as RequestInit);
  return init.idleTimeoutMs ? watchedResponse(res, init.idleTimeoutMs) : res;
}

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 30_000 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 30_000 });

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function nodeFetch(url: string, init: UpstreamInit): Promise<Response> {
  return new Promise((resolve, reject) => {
    const signal = init.signal;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const https = url.startsWith("https:");
    const headers: Record<string, string | number> = init.headers;
    if (init.body !== undefined) {
      headers["content-length"] = typeof init.body === "string"
        ? Buffer.byteLength(init.body)
        : Array.isArray(init.body)
        ? init.body.reduce((n, b) => n + b.byteLength, 0)
        : init.body.byteLength;
    }
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: init.method,
      headers,
      agent: https ? httpsAgent : httpAgent,
    });
    if (init.connectTimeoutMs !== undefined) {
      const ms = init.connectTimeoutMs;
      req.once("socket", (socket: Socket) => {
        // A reused keep-alive socket is already connected.
        if (!socket.connecting) return;
        const timer = setTimeout(() => req.destroy(new ConnectTimeoutError(ms)), ms);
        const done = () => clearTimeout(timer);
        socket.once(https ? "secureConnect" : "connect", done);
        socket.once("close", done);
      });
    }
    let response: IncomingMessage | undefined;
    let onBodyError: ((e: Error) => void) | undefined;
    const onAbort = () => {
      const reason = signal!.reason;
      req.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => signal?.removeEventListener("abort", onAbort);
    req.on("error", (e) => {
      cleanup();
      if (!response) reject(e);
      else onBodyError?.(e);
    });
    req.on("response", (res) => {
      const status = res.statusCode ?? 502;
      const h = liteHeaders();
      const raw = res.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) h.append(raw[i], raw[i + 1]);
      if (NULL_BODY.has(status) || init.method === "HEAD") {
        response = res;
        res.resume();
        res.on("end", cleanup);
        resolve(new Response(null, { status, statusText: res.statusMessage, headers: h }));
        return;
      }
      const body = new NodeBody(res, req, cleanup, init.idleTimeoutMs);
      response = res;
      onBodyError = (e) => body.fail(e);
      resolve(new NodeResponse(status, res.statusMessage ?? "", h, body) as unknown as Response);
    });
    const body = init.body;
    if (Array.isArray(body)) {
      // Written in one tick: node:http corks them into one writev with the headers.
      for (let i = 0; i < body.length - 1; i++) req.write(body[i]);
      req.end(body[body.length - 1]);
    } else req.end(body);
  });
}

/** What a Node-style reader of an upstream body is told. */
export interface RawBodyHandlers {
  data(chunk: Uint8Array): void;
  end(): void;
  error(e: Error): void;
}

/**
 * An upstream body read straight from node:http, without a web ReadableStream (their creation
 * and per-chunk promises are a visible share of a proxied request's CPU on Node). Taken once.
 */
export interface RawBody {
  start(h: RawBodyHandlers): void;
  /** Backpressure: stop / restart the flow of `data`. */
  pause(): void;
  resume(): void;
  /** Gives up on the body: the upstream request is destroyed. */
  cancel(): void;
}

/**
 * The raw body of a response from `upstreamFetch` on Node, if nothing has read it yet;
 * undefined otherwise (Deno, other responses): then read `res.body`.
 */
export function takeRawBody(res: Response): RawBody | undefined {
  return res instanceof NodeResponse ? res.takeRaw() : undefined;
}

/**
 * A Response whose body is `raw`, for code that relays an upstream body on Node: the server
 * (runtime/serve.ts) writes it straight to the socket with `takeRawBody`; any other reader gets
 * an ordinary web stream on first use of `body`, `text()`, ...
 */
export function rawResponse(status: number, headers: Headers, raw: RawBody): Response {
  return new NodeResponse(status, "", headers, raw) as unknown as Response;
}

/** One node:http response body, handed to exactly one reader (raw or web stream). */
class NodeBody implements RawBody {
  #h?: RawBodyHandlers;
  #failure?: Error;
  #settled = false;
  #watch?: IdleWatch;
  constructor(
    readonly res: IncomingMessage,
    readonly req: { destroy(e?: Error): void },
    readonly cleanup: () => void,
    idleTimeoutMs?: number,
  ) {
    if (idleTimeoutMs) {
      this.#watch = new IdleWatch(idleTimeoutMs, () => {
        const e = new IdleTimeoutError(idleTimeoutMs);
        this.fail(e);
        this.req.destroy(e);
      });
    }
    // Registered at once so a failure before anyone reads is remembered, not lost.
    res.on("error", (e) => this.fail(e));
    res.on(
      "aborted",
      () => this.fail(new Error("upstream connection closed before the response ended")),
    );
  }

  fail(e: Error): void {
    this.#watch?.stop();
    this.cleanup();
    if (this.#settled) return;
    if (!this.#h) {
      this.#failure ??= e;
      return;
    }
    this.#settled = true;
    this.#h.error(e);
  }

  start(h: RawBodyHandlers): void {
    this.#h = h;
    if (this.#failure) {
      this.#settled = true;
      h.error(this.#failure);
      return;
    }
    const watch = this.#watch;
    watch?.wait();
    this.res.on("data", (chunk: Uint8Array) => {
      if (this.#settled) return;
      // Before handing it on: the handler may pause the flow (watch.rest()).
      watch?.wait();
      h.data(chunk);
    });
    this.res.on("end", () => {
      watch?.stop();
      this.cleanup();
      if (this.#settled) return;
      this.#settled = true;
      h.end();
    });
  }

  pause(): void {
    this.#watch?.rest();
    this.res.pause();
  }

  resume(): void {
    if (!this.#settled) this.#watch?.wait();
    this.res.resume();
  }

  cancel(): void {
    this.#watch?.stop();
    this.#settled = true;
    this.cleanup();
    this.req.destroy();
  }
}

/**
 * The web Response face of an upstream answer on Node: status and headers at once, the body as
 * a web stream only when someone asks for it (`body`, `text()`, ...); `takeRawBody` skips it.
 */
class NodeResponse {
  readonly ok: boolean;
  readonly redirected = false;
  readonly type = "basic";
  readonly url = "";
  #raw?: RawBody;
  #web?: Response;
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    raw: RawBody,
  ) {
    this.ok = status >= 200 && status < 300;
    this.#raw = raw;
  }

  takeRaw(): RawBody | undefined {
    const raw = this.#raw;
    this.#raw = undefined;
    return raw;
  }

  #response(): Response {
    if (this.#web) return this.#web;
    const raw = this.takeRaw();
    let stream: ReadableStream<Uint8Array> | null = null;
    if (raw) {
      stream = new ReadableStream<Uint8Array>({
        start(c) {
          raw.start({
            data(chunk) {
              c.enqueue(chunk);
              if ((c.desiredSize ?? 0) <= 0) raw.pause();
            },
            end() {
              try {
                c.close();
              } catch { /* cancelled */ }
            },
            error(e) {
              try {
                c.error(e);
              } catch { /* cancelled */ }
            },
          });
        },
        pull() {
          raw.resume();
        },
        cancel() {
          raw.cancel();
        },
      }, { highWaterMark: 1 });
    }
    this.#web = new Response(stream, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    return this.#web;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#response().body;
  }
  get bodyUsed(): boolean {
    return this.#web?.bodyUsed ?? this.#raw === undefined;
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#response().arrayBuffer();
  }
  text(): Promise<string> {
    return this.#response().text();
  }
  json(): Promise<unknown> {
    return this.#response().json();
  }
  blob(): Promise<Blob> {
    return this.#response().blob();
  }
  clone(): Response {
    return this.#response().clone();
  }
}
