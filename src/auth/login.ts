// `ccmux login` as a library function: run one PKCE sign-in (loopback callback and/or a pasted
// code), then save the account's record in the token file, leaving other accounts untouched.
import type { TokenEndpointResponse } from "oauth4webapi";
import { rfc3339 } from "./refresh.ts";
import type { Config } from "../config/types.ts";
import type { TokenRecord } from "./types.ts";
import { type ResolvedOAuth, resolveOAuth } from "./kinds.ts";
import {
  authorizeUrl,
  createApiKey,
  describeError,
  exchangeCode,
  idTokenClaims,
  LoginError,
  type PkceSession,
  startSession,
} from "./pkce_flow.ts";
import {
  type CallbackServer,
  freePort,
  loopbackTarget,
  startCallbackServer,
} from "./callback_server.ts";
import { parsePasted, readLines } from "./paste_input.ts";
import { openTokenStore } from "./token_store.ts";

export { LoginError } from "./pkce_flow.ts";

export interface LoginOptions {
  config: Config;
  id: string;
  /** Skip the callback server; print only the paste URL and read the code from stdin. */
  paste?: boolean;
  /** How long to wait for the browser or a pasted code (seconds, default 300). */
  timeoutS?: number;
  /** Human messages (stderr). Never given a secret. */
  say: (text: string) => void;
  /** One line from here is accepted as CODE#STATE or a callback URL. */
  stdin?: () => AsyncIterable<Uint8Array | string>;
  /** Called with the authorize URL when the browser should be opened. */
  openBrowser?: (url: string) => void;
  fetch?: typeof fetch;
  now?: () => Date;
}

/** What a sign-in stored (the record is also in the token file). */
export interface LoginResult {
  record: TokenRecord;
  resolved: ResolvedOAuth;
}

/** Resolves the account's OAuth client or throws LoginError naming what is missing. */
export function resolveForLogin(config: Config, id: string): ResolvedOAuth {
  const r = resolveOAuth(config, id);
  if (!r) {
    throw new LoginError(
      `no OAuth kind is known for account '${id}': add [oauth.${id}] with kind = ` +
        `"anthropic", "anthropic-console", "openai", "oidc" or "github-copilot" to the config`,
    );
  }
  return r;
}

/** Runs the sign-in for `opts.id` and stores the result. Throws LoginError on any failure. */
export async function login(opts: LoginOptions): Promise<LoginResult> {
  const resolved = resolveForLogin(opts.config, opts.id);
  // An unusable token file fails now, before the user signs in for nothing.
  await openTokenStore(opts.config).read();
  const fetchFn = opts.fetch ?? fetch;
  const session = await startSession(resolved, fetchFn).catch((e) => {
    throw new LoginError(describeError(e));
  });
  const timeoutS = opts.timeoutS ?? 300;

  let server: CallbackServer | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stdinLines = opts.stdin ? readLines(opts.stdin()) : undefined;
  try {
    let loopbackRedirect: string;
    if (opts.paste) {
      const target = loopbackTarget(resolved.redirect_uri, resolved.fixed_ports);
      // Nothing listens here: the browser's failed page address is what the user pastes.
      loopbackRedirect = target.redirectUri(target.ports[0] || await freePort());
    } else {
      server = await startCallbackServer(
        loopbackTarget(resolved.redirect_uri, resolved.fixed_ports),
        session.state,
      ).catch((e) => {
        throw new LoginError((e as Error).message);
      });
      loopbackRedirect = server.redirectUri;
    }
    const pasteRedirect = resolved.paste_redirect_uri;

    const urls = printUrls(
      opts,
      session,
      server ? loopbackRedirect : undefined,
      pasteRedirect,
      loopbackRedirect,
    );
    opts.openBrowser?.(urls[0]);

    const waiting: Promise<Reply>[] = [];
    if (server) {
      waiting.push(server.callback.then((cb) => ({
        params: cb.params,
        redirectUri: loopbackRedirect,
        reply: cb.reply,
      })));
    }
    if (stdinLines) {
      // A pasted callback URL is exchanged with the redirect_uri it carries: only one that
      // this sign-in sent (a foreign host would receive the code and verifier's exchange).
      const sent = [loopbackRedirect, ...(pasteRedirect ? [pasteRedirect] : [])];
      waiting.push(pastedReply(stdinLines, pasteRedirect ?? loopbackRedirect, !server, sent));
    }
    waiting.push(
      new Promise<Reply>((_, reject) => {
        timer = setTimeout(
          () => reject(new LoginError(`timed out after ${timeoutS} s waiting for the sign-in`)),
          timeoutS * 1000,
        );
      }),
    );
    const reply = await Promise.race(waiting);
    clearTimeout(timer);

    try {
      const record = await finish(opts, session, reply);
      await reply.reply?.(true, `Signed in to ccmux account '${opts.id}'.`);
      return { record, resolved };
    } catch (e) {
      const message = describeError(e);
      await reply.reply?.(false, message);
      throw new LoginError(message);
    }
  } finally {
    clearTimeout(timer);
    stdinLines?.stop();
    await server?.close();
  }
}

/** An authorization response, from the callback server or pasted. */
interface Reply {
  params: URLSearchParams;
  redirectUri: string;
  /** Answers the browser (callback server only). */
  reply?: (ok: boolean, message: string) => Promise<void>;
}

function printUrls(
  opts: LoginOptions,
  session: PkceSession,
  loopbackRedirect: string | undefined,
  pasteRedirect: string | undefined,
  pasteFallback: string,
): string[] {
  const urls: string[] = [];
  if (loopbackRedirect) {
    urls.push(authorizeUrl(session, loopbackRedirect));
    opts.say(`Open this URL in a browser to sign in to '${opts.id}':\n${urls[0]}\n`);
    if (pasteRedirect) {
      const second = authorizeUrl(session, pasteRedirect);
      urls.push(second);
      opts.say(
        `If the browser runs on another machine, open this URL instead and paste the code it ` +
          `shows here:\n${second}\n`,
      );
    } else {
      opts.say(
        "If the browser runs on another machine, paste here the address it ends on " +
          "(the page that could not load).\n",
      );
    }
    opts.say(`Waiting for the browser (Ctrl-C to cancel)...\n`);
  } else {
    urls.push(authorizeUrl(session, pasteRedirect ?? pasteFallback));
    opts.say(`Open this URL in a browser to sign in to '${opts.id}':\n${urls[0]}\n`);
    opts.say(
      pasteRedirect
        ? "Then paste the code the page shows (CODE#STATE) here and press Enter:\n"
        : "Then paste here the address the browser ends on (the page that could not load):\n",
    );
  }
  return urls;
}

/** The first non-empty stdin line as a Reply; in paste-only mode EOF is a failure. */
async function pastedReply(
  lines: ReturnType<typeof readLines>,
  defaultRedirect: string,
  only: boolean,
  sent: string[],
): Promise<Reply> {
  for await (const line of lines) {
    if (!line.trim()) continue;
    const reply = parsePasted(line, defaultRedirect);
    if (!sent.some((uri) => sameRedirect(uri, reply.redirectUri))) {
      throw new LoginError(
        `the pasted address (${originOf(reply.redirectUri)}) is not a redirect this sign-in ` +
          `sent (${sent.join(" or ")}); nothing was exchanged, paste the address the browser ` +
          "ended on or the CODE#STATE the page shows",
      );
    }
    return reply;
  }
  if (only) throw new LoginError("no code was pasted (standard input closed)");
  return new Promise<Reply>(() => {}); // the callback server or the timeout decides
}

/** Same scheme, host, port and path (a query or fragment in the configured URI is ignored). */
function sameRedirect(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.origin === y.origin && x.pathname === y.pathname;
  } catch {
    return false;
  }
}

function originOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "not a URL";
  }
}

function finish(opts: LoginOptions, s: PkceSession, reply: Reply): Promise<TokenRecord> {
  return completeSignIn(opts.config, opts.id, s, reply, (opts.now ?? (() => new Date()))());
}

/**
 * Checks the authorization response (state first), exchanges the code, completes the kind's
 * extras and saves the record. Also what serve's management API finishes a sign-in with.
 */
export async function completeSignIn(
  config: Config,
  id: string,
  s: PkceSession,
  reply: { params: URLSearchParams; redirectUri: string },
  now: Date = new Date(),
): Promise<TokenRecord> {
  const tokens = await exchangeCode(s, reply.params, reply.redirectUri);
  const record = toRecord(id, s.resolved, tokens, now);
  if (s.resolved.kind === "anthropic-console") {
    record.api_key = await createApiKey(s.resolved.api_key_url, tokens.access_token, s.fetch);
  }
  await saveAccount(config, id, record);
  return record;
}

/** Same scheme, host, port and path (a query or fragment in the configured URI is ignored). */
export function sameRedirectUri(a: string, b: string): boolean {
  return sameRedirect(a, b);
}

/** Stores a fresh sign-in's record: it replaces this account's record only. */
export async function saveAccount(config: Config, id: string, record: TokenRecord): Promise<void> {
  await openTokenStore(config).update((doc) => {
    doc[id] = record; // a new sign-in replaces this account's record only
  });
}

/** The token file record for a fresh sign-in. */
export function toRecord(
  id: string,
  r: ResolvedOAuth,
  t: TokenEndpointResponse,
  now: Date,
): TokenRecord {
  const claims = idTokenClaims(t);
  const record: TokenRecord = {
    provider_id: id,
    access_token: t.access_token,
    kind: r.kind,
    token_type: t.token_type,
    scopes: typeof t.scope === "string" ? t.scope.split(" ").filter(Boolean) : [...r.scopes],
  };
  if (t.refresh_token) record.refresh_token = t.refresh_token;
  if (typeof t.expires_in === "number") {
    record.expires_at = rfc3339(now.getTime() + t.expires_in * 1000);
  }
  const account: NonNullable<TokenRecord["account"]> = {};
  const a = t.account as Record<string, unknown> | undefined;
  if (a && typeof a === "object") {
    if (typeof a.email_address === "string") account.email = a.email_address;
    else if (typeof a.email === "string") account.email = a.email;
    if (typeof a.uuid === "string") account.uuid = a.uuid;
  }
  const org = t.organization as Record<string, unknown> | undefined;
  if (org && typeof org === "object" && typeof org.uuid === "string") {
    account.organization_uuid = org.uuid;
  }
  if (claims) {
    if (!account.email && typeof claims.email === "string") account.email = claims.email;
    account.sub = claims.sub;
    const openai = claims["https://api.openai.com/auth"] as Record<string, unknown> | undefined;
    if (openai && typeof openai.chatgpt_account_id === "string") {
      record.account_id = openai.chatgpt_account_id;
    }
  }
  if (Object.keys(account).length) record.account = account;
  if (t.id_token) record.id_token = t.id_token;
  return record;
}
