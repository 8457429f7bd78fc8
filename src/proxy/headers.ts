// Header rules for the Anthropic pass-through (CONTRACT §6): what of the client's request goes
// upstream, which credentials are set, and what of the upstream response comes back.

/** Request headers never forwarded upstream: hop-by-hop, recomputed, credentials, ccmux's own. */
const DROP_REQUEST = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  "content-length",
  // Upstream is asked for identity encoding so bytes stream through unchanged and can be
  // inspected (usage counting); compression on a loopback hop buys nothing.
  "accept-encoding",
  "x-api-key",
  "authorization",
  "x-provider",
  "origin",
  "cookie",
]);

/** Response headers not copied back: hop-by-hop and the ones the runtime recomputes. */
const DROP_RESPONSE = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "content-length",
  // fetch() decodes compressed bodies, so the header would lie about the bytes we send.
  "content-encoding",
  "set-cookie",
]);

/** The beta that Anthropic requires on OAuth-authenticated requests. */
export const OAUTH_BETA = "oauth-2025-04-20";

/**
 * The client's forwardable headers as a plain object (lower-case names). `keepCredentials`
 * (passthrough providers) keeps x-api-key / authorization except a value equal to
 * `serverKey`'s credential, which authenticated the client to ccmux and must not leak upstream.
 */
export function forwardHeaders(
  client: Headers,
  keepCredentials: boolean,
  isServerKey?: (value: string) => boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  client.forEach((value, name) => {
    if (DROP_REQUEST.has(name) || name.startsWith("proxy-")) {
      if (!keepCredentials) return;
      if (name === "x-api-key") {
        if (!isServerKey?.(value)) out[name] = value;
      } else if (name === "authorization") {
        const m = /^Bearer\s+(.+)$/i.exec(value);
        if (!(m && isServerKey?.(m[1]))) out[name] = value;
      }
      return;
    }
    out[name] = value;
  });
  out["accept-encoding"] = "identity";
  return out;
}

/**
 * Edits the comma-separated `anthropic-beta` value in `headers`: removes every beta
 * (`stripAll`) or the listed ones, then adds `add` when missing. Order is kept, duplicates go.
 */
export function editBetas(
  headers: Record<string, string>,
  stripAll: boolean,
  strip: readonly string[],
  add?: string,
): void {
  const current = headers["anthropic-beta"];
  if (current === undefined && add === undefined) return;
  if (!stripAll && strip.length === 0 && current !== undefined && add === undefined) return;
  const seen = new Set<string>();
  const list: string[] = [];
  if (!stripAll && current) {
    for (const part of current.split(",")) {
      const b = part.trim();
      if (b && !seen.has(b) && !strip.includes(b)) {
        seen.add(b);
        list.push(b);
      }
    }
  }
  if (add && !seen.has(add)) list.push(add);
  if (list.length) headers["anthropic-beta"] = list.join(",");
  else delete headers["anthropic-beta"];
}

/** The upstream response's headers to return to the client (request-id, ratelimits, ...). */
export function responseHeaders(upstream: Headers): Headers {
  const out = new Headers();
  upstream.forEach((value, name) => {
    if (!DROP_RESPONSE.has(name)) out.append(name, value);
  });
  return out;
}
