// A stub OAuth 2.0 / OpenID Connect authorization server on 127.0.0.1 for login tests:
// /authorize validates the request and redirects with code+state (or error=access_denied),
// /token checks the body encoding and the PKCE S256 verifier, discovery and JWKS for oidc,
// RS256 id_tokens, Anthropic's paste page and create_api_key endpoint.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createHash,
  createSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";

export interface AuthzStubOptions {
  clientId?: string;
  /** /authorize answers error=access_denied. */
  deny?: boolean;
  /** The token endpoint's expected body encoding; the other one gets 400 invalid_request. */
  body?: "json" | "form";
  /** The token endpoint answers this error (e.g. 400 invalid_grant for an expired code). */
  tokenError?: { status: number; error: string; error_description?: string };
  /** Leave token_type out of the token response (as Anthropic does). */
  omitTokenType?: boolean;
  /** Extra fields of the token response (e.g. Anthropic's `account`). */
  extra?: Record<string, unknown>;
  /** Claims of an RS256 id_token to include (iss/aud/iat/exp/sub filled in unless given). */
  idToken?: Record<string, unknown>;
  /** Value of raw_key from create_api_key. */
  apiKey?: string;
  /** expires_in of issued tokens (seconds). */
  expiresIn?: number;
}

export interface TokenCall {
  contentType: string;
  params: Record<string, string>;
  /** The verifier's S256 matched the challenge /authorize saw for this code. */
  pkceOk: boolean;
}

export interface AuthzStub {
  /** http://127.0.0.1:PORT (also the issuer). */
  url: string;
  authorizeUrl: string;
  tokenUrl: string;
  apiKeyUrl: string;
  /** Anthropic-style paste redirect: its page shows CODE#STATE. */
  pasteUrl: string;
  authorizeCalls: URLSearchParams[];
  tokenCalls: TokenCall[];
  apiKeyCalls: { authorization: string }[];
  /** Access tokens issued (to check they are never printed). */
  issued: string[];
  close(): Promise<void>;
}

interface Grant {
  challenge: string;
  redirectUri: string;
  clientId: string;
  state: string;
  scope: string;
}

export async function startAuthzStub(opts: AuthzStubOptions = {}): Promise<AuthzStub> {
  const clientId = opts.clientId ?? "test-client";
  const grants = new Map<string, Grant>();
  const authorizeCalls: URLSearchParams[] = [];
  const tokenCalls: TokenCall[] = [];
  const apiKeyCalls: { authorization: string }[] = [];
  const issued: string[] = [];
  let key: { priv: KeyObject; jwk: Record<string, unknown> } | undefined;
  if (opts.idToken) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    key = {
      priv: privateKey,
      jwk: { ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" },
    };
  }
  let base = "";

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", base);
      const path = url.pathname;
      if (req.method === "GET" && path === "/authorize") return authorize(url, res);
      if (req.method === "POST" && path === "/token") return await token(req, res);
      if (req.method === "POST" && path === "/api_key") return apiKey(req, res);
      if (path === "/.well-known/openid-configuration") {
        return json(res, 200, {
          issuer: base,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          jwks_uri: `${base}/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
          code_challenge_methods_supported: ["S256"],
          grant_types_supported: ["authorization_code", "refresh_token"],
        });
      }
      if (path === "/jwks") return json(res, 200, { keys: key ? [key.jwk] : [] });
      if (path === "/oauth/code/callback") {
        const text = `${url.searchParams.get("code")}#${url.searchParams.get("state")}`;
        res.writeHead(200, { "content-type": "text/plain" }).end(text);
        return;
      }
      json(res, 404, { error: "not_found" });
    } catch (e) {
      json(res, 500, { error: "server_error", error_description: String(e) });
    }
  });

  function authorize(url: URL, res: ServerResponse) {
    const q = url.searchParams;
    authorizeCalls.push(q);
    const problems: string[] = [];
    if (q.get("response_type") !== "code") problems.push("response_type");
    if (q.get("client_id") !== clientId) problems.push("client_id");
    if (q.get("code_challenge_method") !== "S256") problems.push("code_challenge_method");
    if (!/^[A-Za-z0-9_-]{43}$/.test(q.get("code_challenge") ?? "")) problems.push("code_challenge");
    if (!q.get("state")) problems.push("state");
    if (!q.get("scope")) problems.push("scope");
    const redirect = q.get("redirect_uri");
    if (!redirect) problems.push("redirect_uri");
    if (problems.length) {
      res.writeHead(400, { "content-type": "text/plain" }).end(`bad ${problems.join(", ")}`);
      return;
    }
    const to = new URL(redirect!);
    if (opts.deny) {
      to.searchParams.set("error", "access_denied");
      to.searchParams.set("error_description", "The user said no");
    } else {
      const code = `code-${randomBytes(8).toString("hex")}`;
      grants.set(code, {
        challenge: q.get("code_challenge")!,
        redirectUri: redirect!,
        clientId: q.get("client_id")!,
        state: q.get("state")!,
        scope: q.get("scope")!,
      });
      to.searchParams.set("code", code);
    }
    to.searchParams.set("state", q.get("state")!);
    res.writeHead(302, { location: to.href }).end();
  }

  async function token(req: IncomingMessage, res: ServerResponse) {
    const text = await readBody(req);
    const contentType = String(req.headers["content-type"] ?? "");
    let params: Record<string, string>;
    if (contentType.startsWith("application/json")) {
      params = JSON.parse(text);
    } else {
      params = Object.fromEntries(new URLSearchParams(text));
    }
    const grant = grants.get(params.code);
    const pkceOk = !!grant && !!params.code_verifier &&
      createHash("sha256").update(params.code_verifier).digest("base64url") === grant.challenge;
    tokenCalls.push({ contentType, params, pkceOk });
    const isJson = contentType.startsWith("application/json");
    if (opts.body && (opts.body === "json") !== isJson) {
      return json(res, 400, {
        error: "invalid_request",
        error_description: `expected a ${opts.body} body`,
      });
    }
    if (opts.tokenError) {
      const { status, ...body } = opts.tokenError;
      return json(res, status, body);
    }
    const bad = (d: string) => json(res, 400, { error: "invalid_grant", error_description: d });
    if (params.grant_type !== "authorization_code") return bad("unsupported grant_type");
    if (!grant) return bad("unknown or used code");
    grants.delete(params.code); // one use
    if (params.client_id !== grant.clientId) return bad("client_id mismatch");
    if (params.redirect_uri !== grant.redirectUri) return bad("redirect_uri mismatch");
    if (!pkceOk) return bad("PKCE verification failed");
    if (isJson && params.state !== grant.state) return bad("state mismatch");
    const access = `at-${randomBytes(12).toString("hex")}`;
    issued.push(access);
    const body: Record<string, unknown> = {
      access_token: access,
      refresh_token: `rt-${randomBytes(12).toString("hex")}`,
      expires_in: opts.expiresIn ?? 28_800,
      scope: grant.scope,
      ...opts.extra,
    };
    if (!opts.omitTokenType) body.token_type = "Bearer";
    if (opts.idToken && key) {
      const now = Math.floor(Date.now() / 1000);
      body.id_token = signJwt(key.priv, {
        iss: base,
        aud: clientId,
        sub: "user-123",
        iat: now,
        exp: now + 3600,
        ...opts.idToken,
      });
    }
    json(res, 200, body);
  }

  function apiKey(req: IncomingMessage, res: ServerResponse) {
    const authorization = String(req.headers.authorization ?? "");
    apiKeyCalls.push({ authorization });
    req.resume();
    if (!issued.some((t) => authorization === `Bearer ${t}`)) {
      return json(res, 401, { error: { type: "authentication_error" } });
    }
    json(res, 200, { raw_key: opts.apiKey ?? "sk-ant-api03-stub" });
  }

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    authorizeUrl: `${base}/authorize`,
    tokenUrl: `${base}/token`,
    apiKeyUrl: `${base}/api_key`,
    pasteUrl: `${base}/oauth/code/callback`,
    authorizeCalls,
    tokenCalls,
    apiKeyCalls,
    issued,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "connection": "close" })
    .end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    req.setEncoding("utf8").on("data", (d: string) => (s += d)).on("end", () => resolve(s))
      .on("error", reject);
  });
}

function signJwt(key: KeyObject, claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${enc({ alg: "RS256", typ: "JWT", kid: "k1" })}.${enc(claims)}`;
  const sig = createSign("RSA-SHA256").update(input).sign(key).toString("base64url");
  return `${input}.${sig}`;
}
