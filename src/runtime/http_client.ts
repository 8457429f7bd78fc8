// The upstream HTTP client: fetch() on Deno; on Node, node:http(s) with keep-alive agents,
// because undici's fetch costs several times the CPU of the request it makes (Request/Response
// objects, body extraction, signals) and ccmux makes one per proxied request.
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { isDeno } from "./info.ts";

/** What an upstream request needs. Header names lower-case. */
export interface UpstreamInit {
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array | string;
  signal?: AbortSignal;
  /**
   * Limit on establishing the connection (DNS, TCP, TLS handshake) — not on the wait for the
   * response. Node only: Deno's fetch has no connect hook, so there the whole request is
   * bounded by `signal` alone (a refused connection still fails at once; a host that never
   * answers the SYN waits for the caller's overall timeout).
   */
  connectTimeoutMs?: number;
}

/** The connection to the upstream was not established within `connectTimeoutMs`. */
export class ConnectTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
  constructor(ms: number) {
    super(`no connection within ${ms} ms`);
    this.name = "ConnectTimeoutError";
  }
}

/** A fetch-like call that resolves once the response headers are in; the body streams. */
export type UpstreamFetch = (url: string, init: UpstreamInit) => Promise<Response>;

/** The client for this runtime. */
export const upstreamFetch: UpstreamFetch = isDeno
  ? (url, init) => fetch(url, init as RequestInit)
  : nodeFetch;

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
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const onAbort = () => {
      const reason = signal!.reason;
      req.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => signal?.removeEventListener("abort", onAbort);
    req.on("error", (e) => {
      cleanup();
      if (!response) reject(e);
      else if (controller) {
        try {
          controller.error(e);
        } catch { /* already closed */ }
      }
    });
    req.on("response", (res) => {
      response = res;
      const status = res.statusCode ?? 502;
      const h = new Headers();
      const raw = res.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) h.append(raw[i], raw[i + 1]);
      if (NULL_BODY.has(status) || init.method === "HEAD") {
        res.resume();
        res.on("end", cleanup);
        resolve(new Response(null, { status, statusText: res.statusMessage, headers: h }));
        return;
      }
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          controller = c;
          res.on("data", (chunk: Buffer) => {
            c.enqueue(chunk);
            if ((c.desiredSize ?? 0) <= 0) res.pause();
          });
          res.on("end", () => {
            cleanup();
            try {
              c.close();
            } catch { /* cancelled */ }
          });
          res.on("error", (e) => {
            cleanup();
            try {
              c.error(e);
            } catch { /* cancelled */ }
          });
          res.on("aborted", () => {
            cleanup();
            try {
              c.error(new Error("upstream connection closed before the response ended"));
            } catch { /* cancelled */ }
          });
        },
        pull() {
          res.resume();
        },
        cancel() {
          cleanup();
          req.destroy();
        },
      }, { highWaterMark: 1 });
      resolve(new Response(body, { status, statusText: res.statusMessage, headers: h }));
    });
    req.end(init.body);
  });
}
