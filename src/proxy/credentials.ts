// OAuth credentials for one upstream exchange, shared by the adapters: the account's token
// (refreshed ahead of expiry by the TokenSource) and, on an upstream 401, one single-flight
// refresh and one retry (docs/ARCHITECTURE.md, "Data flow").
import type { TokenRecord } from "../auth/types.ts";
import type { ProviderConfig } from "../config/types.ts";
import type { UpstreamRequest } from "./provider.ts";
import { errorResponse } from "./errors.ts";

/** The token-file account behind an oauth provider. */
export function oauthAccount(p: ProviderConfig): string {
  return p.oauth_provider ?? p.name;
}

/**
 * Calls `send` with the account's record and returns its response; an upstream 401 on an
 * access token refreshes once and sends again (an account's API key is not retried).
 * Token problems are thrown (errors named LoginRequiredError / RefreshError): the dispatcher
 * treats them as this candidate's local failure and fails over.
 */
export async function sendWithOAuth(
  req: UpstreamRequest,
  p: ProviderConfig,
  send: (record: TokenRecord) => Promise<Response>,
): Promise<Response> {
  const id = oauthAccount(p);
  if (!req.tokens) return errorResponse(500, `ccmux: no token manager for OAuth account '${id}'`);
  let record;
  try {
    record = await req.tokens.accessToken(id);
  } catch (e) {
    // The token file cannot be used and there is no earlier good read of it (serve logs the
    // file's problem once): a local failure, answered as such rather than as an unreachable
    // upstream. The dispatcher still fails over to the next mapping.
    if ((e as Error)?.name === "TokenFileError") {
      return errorResponse(500, `ccmux: ${(e as Error).message}`);
    }
    throw e;
  }
  const first = await send(record);
  if (first.status !== 401 || record.api_key) return first;
  await first.body?.cancel().catch(() => {});
  record = await req.tokens.refreshAfterReject(id, record.access_token);
  const second = await send(record);
  req.note?.(`${p.name} 401 → token refreshed → ${second.status}`);
  return second;
}
