// Serves a fetch handler on the runtime's native HTTP server: Deno.serve on Deno,
// @hono/node-server (node:http) on Node. The only place serve-related code asks "which runtime?".
import process from "node:process";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { isDeno } from "./info.ts";
import { type RawBody, takeRawBody } from "./http_client.ts";

/** A fetch-style request handler. */
export type Handler = (request: Request) => Response | Promise<Response>;

/** Where and what to serve. */
export interface ServeOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  fetch: Handler;
  /** Called with unexpected handler errors (the client gets a 500). */
  onError?: (error: unknown) => void;
  /**
   * For a request with `Expect: 100-continue`, called before `100 Continue` is sent (the body
   * not yet read): a Response refuses the request without the client uploading its body. On
   * Deno it is not needed: Deno.serve sends `100 Continue` only once the handler reads the body.
   */
  precheck?: (request: Request) => Response | undefined;
}

/** A listening server. */
export interface RunningServer {
  hostname: string;
  /** The real port (also when 0 was asked for). */
  port: number;
  /** The address the listening socket is bound to, as the OS reports it ("0.0.0.0", "::1"). */
  address: string;
  /**
   * Stops accepting connections, lets in-flight requests (and streams) finish for up to
   * `graceMs`, then drops what is left. Resolves once the server is closed.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Starts listening; rejects with the reason (e.g. EADDRINUSE) when it cannot. */
export function startServer(opts: ServeOptions): Promise<RunningServer> {
  return isDeno ? startDeno(opts) : startNode(opts);
}

interface DenoHttpServer {
  addr: { hostname: string; port: number };
  finished: Promise<void>;
  shutdown(): Promise<void>;
}
interface DenoServe {
  serve(
    options: {
      hostname: string;
      port: number;
      signal?: AbortSignal;
      onListen?: (addr: { hostname: string; port: number }) => void;
      onError?: (error: unknown) => Response;
    },
    handler: Handler,
  ): DenoHttpServer;
}

function startDeno(opts: ServeOptions): Promise<RunningServer> {
  const deno = (globalThis as unknown as { Deno: DenoServe }).Deno;
  const ac = new AbortController();
  return new Promise((resolve, reject) => {
    let server: DenoHttpServer;
    try {
      server = deno.serve({
        hostname: opts.hostname,
        port: opts.port,
        signal: ac.signal,
        onListen: () => {},
        onError: (error) => {
          opts.onError?.(error);
          return new Response(null, { status: 500 });
        },
      }, (req) => opts.fetch(req));
    } catch (e) {
      reject(e);
      return;
    }
    resolve({
      hostname: opts.hostname,
      port: server.addr.port,
      address: server.addr.hostname,
      async shutdown(graceMs = 10_000) {
        // Deno's shutdown is graceful: it stops accepting and waits for in-flight responses.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
        await Promise.race([server.shutdown(), grace]);
        clearTimeout(timer);
      },
    });
  });
}

async function startNode(opts: ServeOptions): Promise<RunningServer> {
  const { createAdaptorServer } = await import("@hono/node-server");
  // One shared answer for "written already": @hono/node-server only reads its headers.
  const alreadySent = new Response(null, { headers: { [ALREADY_SENT]: "1" } });
  const server = createAdaptorServer({
    fetch: async (req: Request, env: unknown) => {
      const ex = env as { incoming: IncomingMessage; outgoing: ServerResponse };
      exchangeOf.set(req, { incoming: ex.incoming, outgoing: ex.outgoing, bodyTaken: false });
      const res = await opts.fetch(req);
      // A relayed upstream body (http_client's raw body): straight to the socket, no web stream.
      const raw = takeRawBody(res);
      if (raw) {
        writeRaw(res, raw, (env as { outgoing: ServerResponse }).outgoing);
        return alreadySent;
      }
      if (!res.body) return res;
      // Write streamed bodies ourselves: @hono/node-server flushes the headers in a write of
      // their own (or waits a timer tick to look for the end of the body); here they leave
      // with the first chunk, one syscall, and every chunk goes out as soon as it arrives.
      writeResponse(res, (env as { outgoing: ServerResponse }).outgoing);
      return alreadySent;
    },
    // Keep the runtime's own Request/Response classes: ccmux code may use instanceof.
    overrideGlobalObjects: false,
  }) as Server;
  // A client may send its whole request and then shut its write side (half-close) while it
  // waits for the answer: node:http would end the connection at once. With this it answers,
  // then closes; a client that really left is found by the probe below.
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const precheck = opts.precheck;
  if (precheck) {
    // Without a listener node:http sends `100 Continue` itself before any check has run.
    server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
      const refused = precheck(webRequestOf(req));
      if (!refused) {
        res.writeContinue();
        server.emit("request", req, res);
        return;
      }
      // The body was never asked for: answer and close (the client may not send it at all).
      refused.arrayBuffer().then((body) => {
        res.writeHead(refused.status, { ...headerRecord(refused.headers), connection: "close" });
        res.end(Buffer.from(body));
      }, () => res.destroy());
    });
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.listen(opts.port, opts.hostname, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (e) => opts.onError?.(e));
  // Every open socket, so shutdown can close the ones without a response in progress
  // (closeIdleConnections misses sockets that never sent a request, e.g. fetch's pre-connects).
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    s.once("end", () => probeHalfClosed(s));
  });
  const closeIdle = () => {
    for (const s of sockets) {
      if (!(s as Socket & { _httpMessage?: unknown })._httpMessage) s.destroy();
    }
  };
  const bound = server.address() as AddressInfo;
  return {
    hostname: opts.hostname,
    port: bound.port,
    address: bound.address,
    shutdown(graceMs = 10_000) {
      return new Promise<void>((resolve) => {
        // Busy connections finish their response; idle keep-alive ones are closed as they
        // become idle, so the server closes as soon as the last stream ends.
        const poll = setInterval(closeIdle, 50);
        const force = setTimeout(() => {
          server.closeAllConnections();
          for (const s of sockets) s.destroy();
        }, graceMs);
        server.close(() => {
          clearInterval(poll);
          clearTimeout(force);
          resolve();
        });
        closeIdle();
      });
    },
  };
}

/**
 * Node: the client shut its write side while its answer is pending. That is a half-close (it
 * still reads) or the client went away; only a write tells which: a peer that closed its
 * socket answers it with a reset, and the write after that fails, which closes the response
 * and aborts the upstream request. An interim `100 Continue` is the write every HTTP/1.1 client
 * skips (RFC 9110 §15.2), sent twice. A client half-closes right after its request, before any
 * answer: one that shuts its side once the answer has begun has left (as node:http without
 * half-open support takes it), and waiting for the answer's next write to fail would keep a
 * silent upstream stream running.
 */
function probeHalfClosed(socket: Socket): void {
  const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!res) return;
  if (res.headersSent) {
    socket.destroy();
    return;
  }
  // HTTP/1.0 has no 1xx answers (RFC 9110 §15.2): such a client is taken at its word.
  if ((res as ServerResponse & { req?: IncomingMessage }).req?.httpVersionMinor === 0) return;
  res.writeContinue();
  setTimeout(() => {
    if (!res.headersSent && !res.destroyed) res.writeContinue();
  }, HALF_CLOSE_PROBE_MS).unref();
}

/** Time for a reset to come back after the first probe (loopback and LAN round trips). */
const HALF_CLOSE_PROBE_MS = 50;

/** A body-less web Request for a node:http request (only for prechecks: rare, not hot). */
function webRequestOf(req: IncomingMessage): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i], raw[i + 1]);
    } catch {
      // A header the web Headers class refuses: the full request path judges it.
    }
  }
  // The path as sent, unparsed (as the full request path sees it).
  const path = req.url?.startsWith("/") ? req.url : "/";
  try {
    return new Request("http://localhost" + path, { method: req.method, headers });
  } catch {
    return new Request("http://localhost/", { method: req.method, headers });
  }
}

/** Node: each served Request's node:http exchange, for readBodyDirect and clientSignal. */
interface NodeExchange {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
  bodyTaken: boolean;
}
const exchangeOf = new WeakMap<Request, NodeExchange>();

/**
 * A signal that fires when the client goes away before its response has been sent. For a
 * request served by startServer on Node, a small stand-in watching the response's `close`
 * (Request.signal would cost an AbortController per request); otherwise `req.signal`. Only
 * `aborted`, `reason` and abort listeners are supported.
 */
export function clientSignal(req: Request): AbortSignal {
  const ex = exchangeOf.get(req);
  return ex ? new CloseSignal(ex.outgoing) as unknown as AbortSignal : req.signal;
}

/**
 * The request's headers as node:http received them (name, value, name, value, ...; names as
 * sent) for a request served by startServer on Node; undefined otherwise. Reading them all
 * from here spares building the full web Headers that iterating `req.headers` would.
 */
export function requestHeaderPairs(req: Request): readonly string[] | undefined {
  return exchangeOf.get(req)?.incoming.rawHeaders;
}

class CloseSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: (() => void)[] = [];
  constructor(out: ServerResponse) {
    out.once("close", () => {
      if (out.writableFinished) return;
      this.aborted = true;
      this.reason = new Error("client closed the request");
      for (const l of this.#listeners.splice(0)) l();
    });
  }
  addEventListener(_type: "abort", listener: () => void): void {
    if (!this.#listeners.includes(listener)) this.#listeners.push(listener);
  }
  removeEventListener(_type: "abort", listener: () => void): void {
    const i = this.#listeners.indexOf(listener);
    if (i !== -1) this.#listeners.splice(i, 1);
  }
}

/**
 * The body of a request served by startServer on Node, read straight from node:http: the
 * chunks joined once (or the one chunk as it is), where Request.arrayBuffer() copies twice.
 * Fewer large short-lived buffers also means fewer full GCs (V8 counts their bytes as external
 * memory). null when not available (Deno, another server, body already read): use the Request.
 */
export function readBodyDirect(req: Request): Promise<Uint8Array> | null {
  const ex = exchangeOf.get(req);
  if (!ex || ex.bodyTaken) return null;
  const incoming = ex.incoming;
  if (incoming.readableDidRead || incoming.readableEnded) return null;
  ex.bodyTaken = true;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    incoming.on("data", (c: Buffer) => {
      chunks.push(c);
      total += c.byteLength;
    });
    incoming.once(
      "end",
      () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total)),
    );
    incoming.once("error", reject);
    incoming.once("aborted", () => reject(new Error("client closed the request")));
  });
}

/** @hono/node-server's marker for "the handler wrote the response itself". */
const ALREADY_SENT = "x-hono-already-sent";

/** The plain header record node:http takes, from a web Headers. */
function headerRecord(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((value, name) => (out[name] = value));
  return out;
}

/**
 * Writes a raw body to a Node ServerResponse as writeResponse does a web stream: headers with
 * the first chunk, writes corked until the next event-loop turn, backpressure pauses the
 * source, a closed client cancels it.
 */
function writeRaw(res: Response, raw: RawBody, out: ServerResponse): void {
  out.writeHead(res.status, headerRecord(res.headers));
  let finished = false;
  out.once("close", () => {
    if (!finished) {
      finished = true;
      raw.cancel();
    }
  });
  let corked = false;
  const uncork = () => {
    corked = false;
    if (!finished) out.uncork();
  };
  const resume = () => raw.resume();
  raw.start({
    data(chunk) {
      if (finished) return;
      if (out.destroyed) {
        finished = true;
        raw.cancel();
        return;
      }
      if (!corked) {
        corked = true;
        out.cork();
        setImmediate(uncork);
      }
      if (!out.write(chunk)) {
        raw.pause();
        out.once("drain", resume);
      }
    },
    end() {
      if (finished) return;
      finished = true;
      out.end();
    },
    error(e) {
      if (finished) return;
      finished = true;
      out.destroy(e);
    },
  });
}

/** Streams a web Response to a Node ServerResponse with backpressure; a closed client cancels. */
function writeResponse(res: Response, out: ServerResponse): void {
  out.writeHead(res.status, headerRecord(res.headers));
  const reader = res.body!.getReader();
  let finished = false;
  out.once("close", () => {
    if (!finished) reader.cancel().catch(() => {});
  });
  // Writes stay corked until the event loop's next turn (not just the next tick): the body's
  // end usually follows its last chunk a few ticks later, and then both leave in one syscall
  // instead of two. A chunk still goes out before any later upstream data is read.
  let corked = false;
  const uncork = () => {
    corked = false;
    if (!finished) out.uncork();
  };
  const pump = (): void => {
    reader.read().then(({ done, value }) => {
      if (done) {
        finished = true;
        out.end();
      } else if (out.destroyed) {
        reader.cancel().catch(() => {});
      } else {
        if (!corked) {
          corked = true;
          out.cork();
          setImmediate(uncork);
        }
        if (out.write(value)) pump();
        else out.once("drain", pump);
      }
    }, (error) => {
      finished = true;
      out.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  };
  pump();
}

/** The signals serve reacts to. */
export type ServeSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** Calls `handler` on `signal`; returns a function that removes the listener. */
export function onSignal(signal: ServeSignal, handler: () => void): () => void {
  if (process.platform === "win32" && signal === "SIGHUP") return () => {};
  process.on(signal, handler);
  return () => void process.off(signal, handler);
}
