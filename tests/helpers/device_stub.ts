// Stubs of RFC 8628 device sign-in servers on 127.0.0.1:0, in two flavours:
//  - "github": GitHub's device flow. POST /login/device/code and POST
//    /login/oauth/access_token; every error (authorization_pending, slow_down with a new
//    `interval`, access_denied, expired_token) is answered with HTTP 200 and an `error` member,
//    and answers are form-encoded unless the client sends Accept: application/json, as GitHub
//    does. Approval gives a non-expiring `gho_` token, or an expiring `ghu_` one with a refresh
//    token; refresh_token grants work, and a spent refresh token gets 200 bad_refresh_token.
//  - "rfc": a standards server with OpenID discovery (device_authorization_endpoint, or none),
//    POST /device and POST /token, errors as HTTP 400 JSON.
// Each poll is recorded with its arrival time so tests can measure the interval.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";

export type DeviceStep = "pending" | "slow_down" | "deny" | "expire" | "approve";

export interface DeviceServerOptions {
  flavour: "github" | "rfc";
  clientId?: string;
  /** Seconds; sent as `interval` in the device answer (undefined leaves it out). */
  interval?: number;
  /** Seconds the code lives. */
  expiresIn?: number;
  /** One answer per poll; the last one repeats. */
  script?: DeviceStep[];
  /** github: approve with an expiring ghu_ token and a refresh token (else gho_, no expiry). */
  expiring?: boolean;
  /** github: the `interval` a slow_down answer names. */
  slowDownInterval?: number;
  /** rfc: discovery without device_authorization_endpoint. */
  noDeviceEndpoint?: boolean;
  /** rfc: include verification_uri_complete. */
  complete?: boolean;
}

export interface DeviceServer {
  url: string;
  deviceUrl: string;
  tokenUrl: string;
  verificationUrl: string;
  userCode: string;
  deviceCode: string;
  readonly starts: { params: Record<string, string>; accept: string; contentType: string }[];
  readonly polls: { at: number; params: Record<string, string> }[];
  readonly refreshes: Record<string, string>[];
  /** Secrets issued (device code, tokens): none may be printed. */
  readonly issued: string[];
  close(): Promise<void>;
}

export async function startDeviceServer(opts: DeviceServerOptions): Promise<DeviceServer> {
  const gh = opts.flavour === "github";
  const clientId = opts.clientId ?? "Ov23test-client";
  const script = opts.script ?? ["pending", "approve"];
  const userCode = `${hex(2).toUpperCase()}-${hex(2).toUpperCase()}`;
  const deviceCode = `dc_${hex(16)}`;
  const starts: DeviceServer["starts"] = [];
  const polls: DeviceServer["polls"] = [];
  const refreshes: Record<string, string>[] = [];
  const issued = [deviceCode];
  const liveRefresh = new Set<string>();
  let base = "";
  const paths = gh
    ? { device: "/login/device/code", token: "/login/oauth/access_token", page: "/login/device" }
    : { device: "/device", token: "/token", page: "/activate" };

  /** GitHub: 200 + error; RFC 8628: 400. */
  const error = (res: ServerResponse, accept: string, code: string, extra: object = {}) =>
    reply(res, gh ? 200 : 400, accept, { error: code, ...extra });

  const server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const text = await readBody(req);
    const accept = String(req.headers.accept ?? "");
    if (!gh && req.method === "GET" && path === "/.well-known/openid-configuration") {
      return reply(res, 200, "application/json", {
        issuer: base,
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        ...(opts.noDeviceEndpoint ? {} : { device_authorization_endpoint: `${base}/device` }),
        response_types_supported: ["code"],
        grant_types_supported: ["authorization_code", "refresh_token"],
      });
    }
    if (req.method !== "POST") return reply(res, 404, "application/json", { error: "not_found" });
    const params = parseParams(text, String(req.headers["content-type"] ?? ""));
    if (path === paths.device) {
      starts.push({
        params,
        accept,
        contentType: String(req.headers["content-type"] ?? ""),
      });
      if (params.client_id !== clientId) {
        // GitHub answers an unknown client with 404.
        return gh
          ? reply(res, 404, accept, { error: "Not Found" })
          : reply(res, 400, accept, { error: "invalid_client" });
      }
      return reply(res, 200, accept, {
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: `${base}${paths.page}`,
        ...(opts.complete
          ? { verification_uri_complete: `${base}${paths.page}?code=${userCode}` }
          : {}),
        expires_in: opts.expiresIn ?? 900,
        ...(opts.interval !== undefined ? { interval: opts.interval } : {}),
      });
    }
    if (path === paths.token) {
      if (params.grant_type === "refresh_token") {
        refreshes.push(params);
        if (!liveRefresh.delete(params.refresh_token)) {
          return error(res, accept, gh ? "bad_refresh_token" : "invalid_grant");
        }
        return reply(res, 200, accept, tokens());
      }
      polls.push({ at: Date.now(), params });
      if (
        params.grant_type !== "urn:ietf:params:oauth:grant-type:device_code" ||
        params.device_code !== deviceCode || params.client_id !== clientId
      ) {
        return error(res, accept, gh ? "incorrect_device_code" : "invalid_grant");
      }
      const step = script[Math.min(polls.length - 1, script.length - 1)];
      switch (step) {
        case "pending":
          return error(res, accept, "authorization_pending", {
            error_description: "The authorization request is still pending.",
          });
        case "slow_down":
          return error(
            res,
            accept,
            "slow_down",
            gh && opts.slowDownInterval ? { interval: opts.slowDownInterval } : {},
          );
        case "deny":
          return error(res, accept, "access_denied", {
            error_description: "The authorization request was denied.",
          });
        case "expire":
          return error(res, accept, "expired_token", {
            error_description: "The device_code has expired.",
          });
        case "approve":
          return reply(res, 200, accept, tokens());
      }
    }
    reply(res, 404, "application/json", { error: "not_found" });
  });

  function tokens(): Record<string, unknown> {
    if (gh && !opts.expiring) {
      const at = `gho_${hex(18)}`;
      issued.push(at);
      return { access_token: at, token_type: "bearer", scope: "read:user" };
    }
    const at = `${gh ? "ghu_" : "at-"}${hex(18)}`;
    const rt = `${gh ? "ghr_" : "rt-"}${hex(18)}`;
    issued.push(at, rt);
    liveRefresh.add(rt);
    return {
      access_token: at,
      expires_in: 28800,
      refresh_token: rt,
      ...(gh
        ? { refresh_token_expires_in: 15811200, scope: "" }
        : { scope: "openid offline_access" }),
      token_type: "bearer",
    };
  }

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    deviceUrl: `${base}${paths.device}`,
    tokenUrl: `${base}${paths.token}`,
    verificationUrl: `${base}${paths.page}`,
    userCode,
    deviceCode,
    starts,
    polls,
    refreshes,
    issued,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections?.();
      }),
  };
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

function parseParams(text: string, contentType: string): Record<string, string> {
  if (contentType.includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** JSON when the client accepts it, else form-encoded (GitHub's default). */
function reply(res: ServerResponse, status: number, accept: string, body: Record<string, unknown>) {
  if (accept.includes("application/json")) {
    res.writeHead(status, { "content-type": "application/json", connection: "close" })
      .end(JSON.stringify(body));
    return;
  }
  const form = new URLSearchParams(
    Object.entries(body).map(([k, v]) => [k, String(v)]),
  ).toString();
  res.writeHead(status, {
    "content-type": "application/x-www-form-urlencoded",
    connection: "close",
  })
    .end(form);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    req.setEncoding("utf8").on("data", (d: string) => (s += d)).on("end", () => resolve(s))
      .on("error", reject);
  });
}
