// A stub of OpenAI's device sign-in on 127.0.0.1:0, with the shapes its clients rely on:
// POST /api/accounts/deviceauth/usercode {client_id} → {device_auth_id, user_code|usercode,
// interval}; POST /api/accounts/deviceauth/token {device_auth_id, user_code} → 403/404 while not
// approved, 2xx {authorization_code, code_verifier, code_challenge} once approved; POST
// /oauth/token, the form-encoded code exchange, checks redirect_uri {base}/deviceauth/callback and
// the PKCE S256 pair and returns tokens with an id_token carrying the ChatGPT account claim.
// OpenAI documents no answer for a refusal or an expired code; the stub answers those with the
// RFC 8628 names, once RFC 6749-style and once in OpenAI's `{"error": {"code"}}` envelope.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, randomBytes } from "node:crypto";

/** What the token (poll) endpoint does for one poll; the last step repeats. */
export type PollStep =
  | "pending403"
  | "pending404"
  | "approve"
  | "deny"
  | "expire"
  | "slow_down429"
  | "slow_down"
  | "redirect";

export interface DeviceStubOptions {
  clientId?: string;
  /** The usercode answer's `interval` as sent (OpenAI sends a string); undefined leaves it out. */
  interval?: string | number;
  /** Name the code `usercode` instead of `user_code` (both occur). */
  altUserCodeField?: boolean;
  /** The poll answers, one per poll; the last one repeats. */
  script?: PollStep[];
  /** Location of the 307 a "redirect" step answers. */
  redirectTo?: string;
  /** The ChatGPT account id in the id_token's `https://api.openai.com/auth` claim. */
  accountId?: string;
  email?: string;
}

export interface Poll {
  /** Date.now() when the poll arrived. */
  at: number;
  body: Record<string, unknown>;
}

export interface DeviceStub {
  /** http://127.0.0.1:PORT (also the issuer). */
  url: string;
  usercodeUrl: string;
  tokenUrl: string;
  /** The page the user opens. */
  verificationUrl: string;
  userCode: string;
  deviceAuthId: string;
  readonly starts: Record<string, unknown>[];
  readonly polls: Poll[];
  readonly exchanges: { contentType: string; params: Record<string, string>; pkceOk: boolean }[];
  /** Secrets issued (to check none is printed). */
  readonly issued: string[];
  close(): Promise<void>;
}

export async function startOpenAIDeviceStub(opts: DeviceStubOptions = {}): Promise<DeviceStub> {
  const clientId = opts.clientId ?? "app_test_client";
  const script = opts.script ?? ["pending403", "approve"];
  const userCode = `${hex(2).toUpperCase()}-${hex(3).toUpperCase()}`;
  const deviceAuthId = `deviceauth_${hex(12)}`;
  const starts: Record<string, unknown>[] = [];
  const polls: Poll[] = [];
  const exchanges: DeviceStub["exchanges"] = [];
  const issued: string[] = [deviceAuthId];
  /** authorization code → its PKCE challenge. */
  const codes = new Map<string, string>();
  let base = "";

  const server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const text = await readBody(req);
    if (req.method !== "POST") return json(res, 405, { error: "method_not_allowed" });
    if (path === "/api/accounts/deviceauth/usercode") {
      const body = parse(text);
      starts.push(body);
      if (!String(req.headers["content-type"]).startsWith("application/json")) {
        return json(res, 400, { error: "invalid_request" });
      }
      if (body.client_id !== clientId) return json(res, 400, { error: "invalid_client" });
      const answer: Record<string, unknown> = { device_auth_id: deviceAuthId };
      answer[opts.altUserCodeField ? "usercode" : "user_code"] = userCode;
      if (opts.interval !== undefined) answer.interval = opts.interval;
      return json(res, 200, answer);
    }
    if (path === "/api/accounts/deviceauth/token") {
      const body = parse(text);
      polls.push({ at: Date.now(), body });
      if (body.device_auth_id !== deviceAuthId || body.user_code !== userCode) {
        return json(res, 400, { error: "invalid_request" });
      }
      const step = script[Math.min(polls.length - 1, script.length - 1)];
      switch (step) {
        case "pending403":
          return json(res, 403, { error: { message: "Device authorization is pending" } });
        case "pending404":
          return json(res, 404, { error: { message: "Not found" } });
        case "slow_down429":
          return json(res, 429, { error: { message: "Too many requests" } });
        case "slow_down":
          return json(res, 400, { error: "slow_down" });
        case "deny":
          return json(res, 400, {
            error: "access_denied",
            error_description: "The user denied the request",
          });
        case "expire":
          return json(res, 400, {
            error: {
              message: "Device code expired",
              type: "invalid_request_error",
              code: "expired_token",
            },
          });
        case "redirect":
          res.writeHead(307, { location: opts.redirectTo ?? `${base}/elsewhere` }).end();
          return;
        case "approve": {
          const verifier = hex(32);
          const code = `ac_${hex(16)}`;
          const challenge = createHash("sha256").update(verifier).digest("base64url");
          codes.set(code, challenge);
          issued.push(code, verifier);
          return json(res, 200, {
            authorization_code: code,
            code_verifier: verifier,
            code_challenge: challenge,
          });
        }
      }
    }
    if (path === "/oauth/token") {
      const contentType = String(req.headers["content-type"] ?? "");
      const params = Object.fromEntries(new URLSearchParams(text));
      const challenge = codes.get(params.code);
      const pkceOk = !!challenge && !!params.code_verifier &&
        createHash("sha256").update(params.code_verifier).digest("base64url") === challenge;
      exchanges.push({ contentType, params, pkceOk });
      const bad = (d: string) => json(res, 400, { error: "invalid_grant", error_description: d });
      if (!contentType.startsWith("application/x-www-form-urlencoded")) return bad("form body");
      if (params.grant_type !== "authorization_code") return bad("grant_type");
      if (!challenge) return bad("unknown or used code");
      codes.delete(params.code);
      if (params.client_id !== clientId) return bad("client_id");
      if (params.redirect_uri !== `${base}/deviceauth/callback`) return bad("redirect_uri");
      if (!pkceOk) return bad("PKCE verification failed");
      const access = `at-${hex(12)}`;
      const refresh = `rt-${hex(12)}`;
      issued.push(access, refresh);
      const now = Math.floor(Date.now() / 1000);
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
      const claims = {
        iss: base,
        aud: clientId,
        sub: "auth0|device-user",
        iat: now,
        exp: now + 3600,
        email: opts.email ?? "dev@example.com",
        "https://api.openai.com/auth": {
          chatgpt_account_id: opts.accountId ?? "acct-device-1",
          chatgpt_plan_type: "plus",
        },
      };
      return json(res, 200, {
        access_token: access,
        refresh_token: refresh,
        id_token: `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}.c2ln`,
        token_type: "Bearer",
        expires_in: 864_000,
      });
    }
    json(res, 404, { error: "not_found" });
  });

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    usercodeUrl: `${base}/api/accounts/deviceauth/usercode`,
    tokenUrl: `${base}/oauth/token`,
    verificationUrl: `${base}/codex/device`,
    userCode,
    deviceAuthId,
    starts,
    polls,
    exchanges,
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

function parse(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", connection: "close" })
    .end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    req.setEncoding("utf8").on("data", (d: string) => (s += d)).on("end", () => resolve(s))
      .on("error", reject);
  });
}
