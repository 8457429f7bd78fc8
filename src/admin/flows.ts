// Sign-ins started through the management API: the PKCE verifier and state stay here (never in
// an answer but inside the authorize URL); a flow ends when its code is exchanged, when the
// server refuses with the right state, or after FLOW_TTL_MS. A wrong or unknown state ends
// nothing. The PKCE code and the exchange are src/auth's (pkce_flow.ts, login.ts).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Config } from "../config/types.ts";
import type { TokenRecord } from "../auth/types.ts";
import {
  authorizeUrl,
  describeError,
  LoginError,
  type PkceSession,
  startSession,
} from "../auth/pkce_flow.ts";
import { completeSignIn, resolveForLogin, sameRedirectUri } from "../auth/login.ts";
import { parsePasted } from "../auth/paste_input.ts";
import { isLoopbackHost } from "../config/validate.ts";

/** How long a started sign-in can be completed. */
export const FLOW_TTL_MS = 10 * 60_000;

/** A refusal with the HTTP status to answer it with (message fit for the client). */
export class FlowError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface Flow {
  id: string;
  account: string;
  session: PkceSession;
  /** serve's own http://localhost:PORT/callback, when the account's redirect can use it. */
  loopback?: string;
  /** The redirect_uris the authorize URLs carry (a pasted callback URL must be one of them). */
  sent: string[];
  /** The redirect a pasted CODE#STATE is exchanged with. */
  pasteRedirect: string;
  expiresAt: number;
  busy: boolean;
}

export interface Started {
  flow_id: string;
  url: string;
  paste_url?: string;
  expires_in_s: number;
}

export class SignInFlows {
  #flows = new Map<string, Flow>();
  constructor(
    private readonly fetchFn: typeof fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a sign-in for `account`; `port` is serve's own (from the request's Host). */
  async start(config: Config, account: string, port: string): Promise<Started> {
    this.#sweep();
    let resolved;
    try {
      resolved = resolveForLogin(config, account);
    } catch (e) {
      throw new FlowError(400, (e as Error).message);
    }
    const session = await startSession(resolved, this.fetchFn).catch((e) => {
      throw new FlowError(502, describeError(e));
    });
    const template = resolved.redirect_uri;
    let loopback: string | undefined;
    let primary: string;
    if (servesCallback(template)) {
      loopback = template.replace("PORT", port);
      primary = loopback;
    } else {
      primary = template.replace("PORT", String(resolved.fixed_ports[0] ?? port));
    }
    const sent = [primary];
    const paste = resolved.paste_redirect_uri;
    if (paste) sent.push(paste);
    const flow: Flow = {
      id: randomBytes(16).toString("base64url"),
      account,
      session,
      loopback,
      sent,
      pasteRedirect: paste ?? primary,
      expiresAt: this.now() + FLOW_TTL_MS,
      busy: false,
    };
    this.#flows.set(flow.id, flow);
    const out: Started = {
      flow_id: flow.id,
      url: authorizeUrl(session, primary),
      expires_in_s: FLOW_TTL_MS / 1000,
    };
    if (paste) out.paste_url = authorizeUrl(session, paste);
    return out;
  }

  /** Completes a flow from a pasted `CODE#STATE` or callback URL. */
  async exchange(
    config: Config,
    by: { flow_id?: string; provider_id?: string },
    code: string,
  ): Promise<{ account: string; record: TokenRecord }> {
    this.#sweep();
    const candidates = by.flow_id !== undefined
      ? [this.#flows.get(by.flow_id)].filter((f): f is Flow => f !== undefined)
      : [...this.#flows.values()].filter((f) => f.account === by.provider_id);
    if (candidates.length === 0) {
      throw new FlowError(
        404,
        "ccmux: no sign-in in progress for that flow (start one with authorize)",
      );
    }
    // Parsed against the newest flow's paste redirect; the state then picks the flow.
    const newest = candidates[candidates.length - 1];
    let reply;
    try {
      reply = parsePasted(code, newest.pasteRedirect);
    } catch (e) {
      throw new FlowError(400, `ccmux: ${(e as Error).message}`);
    }
    const state = reply.params.get("state");
    const flow = state === null
      ? (candidates.length === 1 ? newest : undefined)
      : candidates.find((f) => sameSecret(f.session.state, state));
    if (!flow) {
      throw new FlowError(
        400,
        "ccmux: state mismatch: the code does not belong to this sign-in; nothing was exchanged",
      );
    }
    if (!flow.sent.some((u) => sameRedirectUri(u, reply.redirectUri))) {
      throw new FlowError(
        400,
        "ccmux: the pasted address is not a redirect this sign-in sent; nothing was exchanged",
      );
    }
    // A CODE#STATE is exchanged with the paste redirect; a URL with the one it carries.
    return await this.#complete(config, flow, reply);
  }

  /** GET /callback on serve's port: the flow whose state this is, or a 400 that ends nothing. */
  async callback(
    config: Config,
    params: URLSearchParams,
  ): Promise<{ account: string; record: TokenRecord }> {
    this.#sweep();
    const state = params.get("state");
    const flow = state === null
      ? undefined
      : [...this.#flows.values()].find((f) => f.loopback && sameSecret(f.session.state, state));
    if (!flow) {
      throw new FlowError(
        400,
        "This reply does not belong to a sign-in in progress; nothing was changed.",
      );
    }
    return await this.#complete(config, flow, { params, redirectUri: flow.loopback! });
  }

  async #complete(
    config: Config,
    flow: Flow,
    reply: { params: URLSearchParams; redirectUri: string },
  ): Promise<{ account: string; record: TokenRecord }> {
    if (flow.busy) throw new FlowError(409, "ccmux: this sign-in is being completed already");
    flow.busy = true;
    try {
      const record = await completeSignIn(config, flow.account, flow.session, reply);
      this.#flows.delete(flow.id);
      return { account: flow.account, record };
    } catch (e) {
      // The state matched (checked above): a refusal by the server ends the sign-in.
      if (reply.params.has("error")) this.#flows.delete(flow.id);
      const status = reply.params.has("error") || !(e instanceof LoginError) ? 400 : 502;
      throw new FlowError(status, `ccmux: ${describeError(e)}`);
    } finally {
      flow.busy = false;
    }
  }

  #sweep(): void {
    const now = this.now();
    for (const [id, f] of this.#flows) if (f.expiresAt <= now) this.#flows.delete(id);
  }
}

/** A redirect template that serve itself can answer: http://localhost:PORT/callback. */
function servesCallback(template: string): boolean {
  if (!template.includes("PORT")) return false;
  try {
    const u = new URL(template.replace("PORT", "1"));
    return u.protocol === "http:" && u.pathname === "/callback" &&
      isLoopbackHost(u.hostname.replace(/^\[|\]$/g, ""));
  } catch {
    return false;
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
