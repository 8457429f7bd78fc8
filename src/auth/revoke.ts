// Token revocation at logout: the anthropic kinds take JSON at `{token_url}/revoke`, the
// others RFC 7009 (form-encoded). Best effort: the caller turns a failure into a warning.
import type { ResolvedOAuth } from "./kinds.ts";
import type { TokenRecord } from "./types.ts";
import { isLoopbackHttp } from "./refresh_request.ts";
import { noRedirects, RedirectRefusedError } from "./no_redirect.ts";

const TIMEOUT_MS = 10_000;

/**
 * Revokes the record's refresh token (else its access token). Resolves to undefined when done
 * or when the kind has no revocation endpoint ("skipped"), else to a reason for a warning.
 */
export async function revokeRecord(
  oauth: ResolvedOAuth | undefined,
  rec: TokenRecord,
  fetchFn: typeof fetch = fetch,
): Promise<{ ok: true } | { skipped: true } | { failed: string }> {
  if (!oauth?.revoke_url) return { skipped: true };
  // The record may be malformed (logout removes broken accounts too): only real strings count.
  const refresh = typeof rec.refresh_token === "string" && rec.refresh_token
    ? rec.refresh_token
    : "";
  const token = refresh || (typeof rec.access_token === "string" ? rec.access_token : "");
  if (!token) return { skipped: true };
  const hint = refresh ? "refresh_token" : "access_token";
  let url: URL;
  try {
    url = new URL(oauth.revoke_url);
  } catch {
    return { failed: `invalid revoke_url for '${oauth.id}'` };
  }
  if (url.protocol !== "https:" && !isLoopbackHttp(url)) {
    return { failed: `refusing to send a token to ${url.origin} over plain http` };
  }
  const json = oauth.kind === "anthropic" || oauth.kind === "anthropic-console";
  const fields = { token, token_type_hint: hint, client_id: oauth.client_id };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  try {
    // A redirect is a failed revoke: the refresh token is never re-sent to another address.
    const res = await noRedirects(fetchFn)(url, {
      method: "POST",
      headers: {
        "content-type": json ? "application/json" : "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
      signal: controller.signal,
    });
    await res.body?.cancel();
    if (!res.ok) return { failed: `${url.origin} answered HTTP ${res.status}` };
    return { ok: true };
  } catch (e) {
    if (e instanceof RedirectRefusedError) return { failed: e.message };
    const why = controller.signal.aborted
      ? `no answer within ${TIMEOUT_MS / 1000} s`
      : (e as Error).message;
    return { failed: `cannot reach ${url.origin}: ${why}` };
  } finally {
    clearTimeout(timer);
  }
}
