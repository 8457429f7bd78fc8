// Requests of the auth code (token exchange and refresh, discovery, revocation, API key
// creation) never follow a redirect: a 3xx would re-send a refresh token, a code or a bearer
// token to wherever the Location points. Deno's fetch follows redirects unless told otherwise,
// so every call goes through here with `redirect: "manual"`, and a 3xx answer is a failure.

/** An OAuth endpoint answered with a redirect; nothing was sent to its Location. */
export class RedirectRefusedError extends Error {
  constructor(readonly url: string, readonly status: number, location: string | null) {
    super(
      `${originOf(url)} answered HTTP ${status} (a redirect${where(url, location)}); ` +
        "ccmux does not follow redirects of OAuth endpoints: configure the final URL",
    );
    this.name = "RedirectRefusedError";
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "the server";
  }
}

/** " to ORIGIN" of the Location (never its path or query, which may carry anything). */
function where(url: string, location: string | null): string {
  if (!location) return "";
  try {
    return ` to ${new URL(location, url).origin}`;
  } catch {
    return "";
  }
}

/** True for a response that is a redirect (or the opaque stand-in a browser-like fetch gives). */
export function isRedirect(res: Response): boolean {
  return (res.status >= 300 && res.status < 400) || res.type === "opaqueredirect";
}

function urlOf(input: string | URL | Request): string {
  return typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
}

/**
 * `fetchFn` with `redirect: "manual"` forced on every call; a redirect answer rejects with
 * RedirectRefusedError (its body discarded).
 */
export function noRedirects(fetchFn: typeof fetch): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetchFn(input, { ...init, redirect: "manual" });
    if (isRedirect(res)) {
      await res.body?.cancel().catch(() => {});
      throw new RedirectRefusedError(urlOf(input), res.status, res.headers.get("location"));
    }
    return res;
  }) as typeof fetch;
}
