// A server on 127.0.0.1:0 that answers every request with a redirect to a second server, which
// records what reaches it: an OAuth endpoint that redirects must never get its request (with a
// refresh token, code or bearer token) re-sent to the Location.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A request that reached the redirect target (bodies may hold secrets: never print them). */
export interface TargetRequest {
  method: string;
  path: string;
  authorization: string;
  body: string;
}

export interface RedirectStub {
  /** http://127.0.0.1:PORT of the redirecting server. */
  url: string;
  /** http://127.0.0.1:PORT of the target the redirects point at. */
  targetUrl: string;
  /** Every request that reached the target. */
  readonly targetRequests: TargetRequest[];
  /** Every request the redirecting server answered. */
  readonly redirected: string[];
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    })
  );
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** Starts both servers; `status` is the redirect status (default 307, which keeps POST). */
export async function startRedirectStub(status = 307): Promise<RedirectStub> {
  const targetRequests: TargetRequest[] = [];
  const redirected: string[] = [];
  const target = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      targetRequests.push({
        method: req.method ?? "",
        path: req.url ?? "/",
        authorization: String(req.headers.authorization ?? ""),
        body,
      });
      // A plausible success, so a client that followed the redirect would believe it.
      res.writeHead(200, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ access_token: "elsewhere-at", raw_key: "sk-elsewhere" }));
    });
  });
  const targetUrl = await listen(target);
  const redirector = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    redirected.push(req.url ?? "/");
    res.writeHead(status, { location: `${targetUrl}${req.url ?? "/"}`, connection: "close" });
    res.end();
  });
  const url = await listen(redirector);
  return {
    url,
    targetUrl,
    targetRequests,
    redirected,
    close: async () => {
      await stop(redirector);
      await stop(target);
    },
  };
}
