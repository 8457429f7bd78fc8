// The one-shot loopback server that receives the authorization server's redirect (RFC 8252).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { isLoopbackHost } from "../config/mod.ts";

/** Where the callback server listens, read off a redirect_uri template. */
export interface LoopbackTarget {
  /** Ports to try in order; 0 = any free port. */
  ports: number[];
  /** The callback path, e.g. "/callback". */
  path: string;
  /** The redirect_uri for the port actually bound. */
  redirectUri(port: number): string;
}

/**
 * Reads a redirect_uri template (`http://localhost:PORT/callback`, or one with a literal port)
 * into what to bind. `fixedPorts` apply when the template leaves the port open.
 */
export function loopbackTarget(template: string, fixedPorts: number[]): LoopbackTarget {
  const open = template.includes("PORT");
  let url: URL;
  try {
    url = new URL(template.replace("PORT", "1"));
  } catch {
    throw new Error(`redirect_uri "${template}" is not a valid URL`);
  }
  if (url.protocol !== "http:" || !isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ""))) {
    throw new Error(
      `redirect_uri "${template}" is not a loopback http:// address; use --paste to sign in`,
    );
  }
  const ports = open ? (fixedPorts.length ? [...fixedPorts] : [0]) : [Number(url.port || 80)];
  return {
    ports,
    path: url.pathname,
    redirectUri: (port) => open ? template.replace("PORT", String(port)) : template,
  };
}

/** One redirect that reached the callback path. */
export interface Callback {
  params: URLSearchParams;
  /** Answers the browser with a short page (success or what went wrong). */
  reply(ok: boolean, message: string): Promise<void>;
}

export interface CallbackServer {
  port: number;
  redirectUri: string;
  /**
   * The first request on the callback path that carries this sign-in's state; later ones are
   * told it was already handled.
   */
  callback: Promise<Callback>;
  /** Stops listening and drops open connections; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts the callback server on 127.0.0.1 at the first free port of `target.ports`. Any local
 * process or web page can reach that port, so a request whose `state` is not `state` is
 * answered 400 and ignored: it cannot end the sign-in. The caller still validates the state
 * (and everything else) before exchanging a code.
 */
export async function startCallbackServer(
  target: LoopbackTarget,
  state: string,
): Promise<CallbackServer> {
  let resolveCallback!: (cb: Callback) => void;
  const callback = new Promise<Callback>((r) => (resolveCallback = r));
  let taken = false;
  const sockets = new Set<Socket>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== target.path) {
      void send(res, 404, page(false, "Not found."));
      return;
    }
    if (taken) {
      void send(res, 409, page(false, "This sign-in was already handled; see the terminal."));
      return;
    }
    if (url.searchParams.get("state") !== state) {
      void send(
        res,
        400,
        page(false, "This request does not belong to the sign-in in progress; it was ignored."),
      );
      return;
    }
    taken = true;
    resolveCallback({
      params: url.searchParams,
      reply: (ok, message) => send(res, ok ? 200 : 400, page(ok, message)),
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  let port = -1;
  let lastError: unknown;
  for (const p of target.ports) {
    try {
      port = await listen(server, p);
      break;
    } catch (e) {
      lastError = e;
      if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE") break;
    }
  }
  if (port < 0) {
    const code = (lastError as NodeJS.ErrnoException)?.code;
    throw new Error(
      `cannot listen on 127.0.0.1 port ${target.ports.join(" or ")} for the sign-in callback` +
        (code ? ` (${code})` : "") + "; free the port or use --paste",
    );
  }

  let closed: Promise<void> | undefined;
  return {
    port,
    redirectUri: target.redirectUri(port),
    callback,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      return closed;
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      server.off("listening", onListening);
      reject(e);
    };
    const onListening = () => {
      server.off("error", onError);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, "127.0.0.1");
  });
}

function send(res: ServerResponse, status: number, html: string): Promise<void> {
  return new Promise((resolve) => {
    res.writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": "default-src 'none'",
      "connection": "close",
    });
    res.end(html, () => resolve());
  });
}

/** A small page with escaped text and no script. */
export function page(ok: boolean, message: string): string {
  const title = ok ? "Signed in" : "Sign-in failed";
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>ccmux: ${title}</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>${title}</h1>
<p>${escapeHtml(message)}</p>
<p>You can close this tab and return to the terminal.</p>
</body></html>
`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A port that was free a moment ago (for a paste-mode redirect that nothing listens on). */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server, 0);
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
