// Serves a fetch handler on the runtime's native HTTP server: Deno.serve on Deno,
// @hono/node-server (node:http) on Node. The only place serve-related code asks "which runtime?".
import process from "node:process";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { isDeno } from "./info.ts";

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
}

/** A listening server. */
export interface RunningServer {
  hostname: string;
  /** The real port (also when 0 was asked for). */
  port: number;
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
  const server = createAdaptorServer({
    fetch: async (req: Request, env: unknown) => {
      incomingOf.set(req, (env as { incoming: IncomingMessage }).incoming);
      const res = await opts.fetch(req);
      if (!res.body) return res;
      // Write streamed bodies ourselves: @hono/node-server flushes the headers in a write of
      // their own (or waits a timer tick to look for the end of the body); here they leave
      // with the first chunk, one syscall, and every chunk goes out as soon as it arrives.
      writeResponse(res, (env as { outgoing: ServerResponse }).outgoing);
      return new Response(null, { headers: { [ALREADY_SENT]: "1" } });
    },
    // Keep the runtime's own Request/Response classes: ccmux code may use instanceof.
    overrideGlobalObjects: false,
  }) as Server;
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
  });
  const closeIdle = () => {
    for (const s of sockets) {
      if (!(s as Socket & { _httpMessage?: unknown })._httpMessage) s.destroy();
    }
  };
  const port = (server.address() as AddressInfo).port;
  return {
    hostname: opts.hostname,
    port,
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

/** Node: each served Request's node:http message, for readBodyDirect. */
const incomingOf = new WeakMap<Request, IncomingMessage>();

/**
 * The body of a request served by startServer on Node, read straight from node:http: the
 * chunks joined once (or the one chunk as it is), where Request.arrayBuffer() copies twice.
 * Fewer large short-lived buffers also means fewer full GCs (V8 counts their bytes as external
 * memory). null when not available (Deno, another server, body already read): use the Request.
 */
export function readBodyDirect(req: Request): Promise<Uint8Array> | null {
  const incoming = incomingOf.get(req);
  if (!incoming || incoming.readableDidRead || incoming.readableEnded) return null;
  incomingOf.delete(req);
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

/** Streams a web Response to a Node ServerResponse with backpressure; a closed client cancels. */
function writeResponse(res: Response, out: ServerResponse): void {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => (headers[name] = value));
  out.writeHead(res.status, headers);
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
