// A stub OAuth token endpoint on 127.0.0.1:0 that behaves like the real servers where it
// matters for refresh: refresh tokens rotate, a reused one fails with 400 invalid_grant and
// revokes its whole family, bodies may be JSON (anthropic, openai) or form (RFC 6749), and
// token_type is left out like the anthropic server does. Revocation: POST {token_url}/revoke
// (JSON) or any path ending in /revoke (RFC 7009 form).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

/** A request the stub received (bodies hold secrets: assert on them, never print them). */
export interface StubRequest {
  path: string;
  contentType: string;
  body: Record<string, string>;
}

export interface StubOptions {
  /** Seconds in each new access token's expires_in (default 28800, as anthropic). */
  expiresIn?: number;
  /** Include token_type in token responses (default false, as anthropic). */
  tokenType?: boolean;
  /** Add an (unsigned) id_token with these claims plus fresh iat/exp, as openai does. */
  idTokenClaims?: Record<string, unknown>;
}

export interface OAuthStub {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The token endpoint: `${url}/v1/oauth/token`. */
  tokenUrl: string;
  /** `${tokenUrl}/revoke` (what the anthropic kinds derive). */
  revokeUrl: string;
  /** Successful refreshes (rotations). */
  readonly refreshCount: number;
  /** Every request to the token endpoint. */
  readonly tokenRequests: StubRequest[];
  /** Every request to a revoke endpoint. */
  readonly revocations: StubRequest[];
  /** Starts a refresh-token family; returns its first refresh token. */
  seed(): string;
  /** Access tokens issued so far (to check that none leaked into output). */
  readonly issued: string[];
  /** Delay (ms) before each token response. */
  setDelay(ms: number): void;
  /** Answer every token request with this status and JSON body (undefined: behave normally). */
  setFailure(failure?: { status: number; body: unknown }): void;
  /** Answer revoke requests with this status (default 200). */
  setRevokeStatus(status: number): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

interface Family {
  revoked: boolean;
  generation: number;
}

const secret = (prefix: string) => `${prefix}-${randomBytes(12).toString("hex")}`;

export async function startOAuthStub(opts: StubOptions = {}): Promise<OAuthStub> {
  const families = new Map<string, Family>();
  /** refresh token → its family and whether it was spent. */
  const tokens = new Map<string, { family: Family; used: boolean }>();
  const tokenRequests: StubRequest[] = [];
  const revocations: StubRequest[] = [];
  const issued: string[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let refreshCount = 0;
  let delay = 0;
  let failure: { status: number; body: unknown } | undefined;
  let revokeStatus = 200;

  const seed = () => {
    const family: Family = { revoked: false, generation: 0 };
    const rt = secret("stub-rt");
    families.set(rt, family);
    tokens.set(rt, { family, used: false });
    return rt;
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", connection: "close" });
    res.end(JSON.stringify(body));
  };

  const handleToken = (req: StubRequest, res: ServerResponse) => {
    tokenRequests.push(req);
    if (failure) return send(res, failure.status, failure.body);
    if (req.body.grant_type !== "refresh_token") {
      return send(res, 400, { error: "unsupported_grant_type" });
    }
    const entry = tokens.get(req.body.refresh_token ?? "");
    const invalid = {
      error: "invalid_grant",
      error_description: "Refresh token not found or invalid",
    };
    if (!entry || entry.family.revoked) return send(res, 400, invalid);
    if (entry.used) {
      entry.family.revoked = true; // reuse: the whole family is dead (RFC 9700 §4.14.2)
      return send(res, 400, invalid);
    }
    entry.used = true;
    entry.family.generation++;
    refreshCount++;
    const rt = secret("stub-rt");
    tokens.set(rt, { family: entry.family, used: false });
    const at = secret("stub-at");
    issued.push(at);
    const body: Record<string, unknown> = {
      access_token: at,
      refresh_token: rt,
      expires_in: opts.expiresIn ?? 28800,
      scope: "user:inference user:profile",
    };
    if (opts.tokenType) body.token_type = "Bearer";
    if (opts.idTokenClaims) {
      const now = Math.floor(Date.now() / 1000);
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
      const claims = { iat: now, exp: now + 3600, ...opts.idTokenClaims };
      body.id_token = `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}.c2ln`;
    }
    send(res, 200, body);
  };

  const handleRevoke = (req: StubRequest, res: ServerResponse) => {
    revocations.push(req);
    const entry = tokens.get(req.body.token ?? "");
    if (entry) entry.family.revoked = true;
    if (revokeStatus !== 200) return send(res, revokeStatus, { error: "server_error" });
    send(res, 200, {});
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const contentType = String(req.headers["content-type"] ?? "");
      let body: Record<string, string> = {};
      try {
        body = contentType.includes("json")
          ? JSON.parse(text)
          : Object.fromEntries(new URLSearchParams(text));
      } catch {
        return send(res, 400, { error: "invalid_request" });
      }
      const path = (req.url ?? "/").split("?")[0];
      const r: StubRequest = { path, contentType, body };
      if (req.method !== "POST") return send(res, 405, { error: "method_not_allowed" });
      if (path.endsWith("/revoke")) return handleRevoke(r, res);
      const t = setTimeout(() => {
        timers.delete(t);
        handleToken(r, res);
      }, delay);
      timers.add(t);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    tokenUrl: `${url}/v1/oauth/token`,
    revokeUrl: `${url}/v1/oauth/token/revoke`,
    get refreshCount() {
      return refreshCount;
    },
    tokenRequests,
    revocations,
    issued,
    seed,
    setDelay: (ms) => void (delay = ms),
    setFailure: (f) => void (failure = f),
    setRevokeStatus: (s) => void (revokeStatus = s),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/** Alias: `start()`. */
export const start = startOAuthStub;
