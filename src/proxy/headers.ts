// Header rules for the Anthropic pass-through (docs/SECURITY.md, "Proxy"): what of the client's
// request goes upstream, which credentials are set, and what of the upstream response comes back.

/** Hop-by-hop headers (RFC 9110 §7.6.1): never passed on in either direction. */
const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"];

/** Request headers never forwarded upstream: hop-by-hop, recomputed, credentials, ccmux's own. */
const DROP_REQUEST = new Set([
  ...HOP_BY_HOP,
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
  ...HOP_BY_HOP,
  "content-length",
  // Upstream is asked for identity; should one compress anyway (Deno's fetch decodes it), the
  // header would lie about the bytes we send.
  "content-encoding",
  "set-cookie",
]);

/** The beta that Anthropic requires on OAuth-authenticated requests. */
export const OAUTH_BETA = "oauth-2025-04-20";

/** A credential the client presented: the header it came in and the key itself. */
export interface ClientCredential {
  header: "x-api-key" | "authorization";
  /** The header value exactly as sent. */
  value: string;
  /** The key: x-api-key's value, or the token of `Authorization: Bearer <token>`. */
  key: string;
}

const BEARER = /^Bearer\s+(.+)$/i;

/** Every credential the client presented (x-api-key first, then a Bearer authorization). */
export function presentedCredentials(headers: Headers): ClientCredential[] {
  const out: ClientCredential[] = [];
  const apiKey = headers.get("x-api-key");
  if (apiKey) out.push({ header: "x-api-key", value: apiKey, key: apiKey });
  const auth = headers.get("authorization");
  const bearer = auth ? BEARER.exec(auth)?.[1] : undefined;
  if (auth && bearer) out.push({ header: "authorization", value: auth, key: bearer });
  return out;
}

/**
 * True when a credential header came more than once (or holds a list): x-api-key or
 * Authorization. Both runtimes join repeated headers with ", ", and neither an API key nor a
 * bearer token (RFC 6750 token68) contains a comma, so one check covers both. Such a request
 * is refused (400): which of the values authenticates, and which would go upstream, would be a
 * guess.
 */
export function repeatedCredential(headers: Headers): "x-api-key" | "authorization" | undefined {
  if (headers.get("x-api-key")?.includes(",")) return "x-api-key";
  if (headers.get("authorization")?.includes(",")) return "authorization";
  return undefined;
}

/**
 * The client's own credential (for passthrough providers): the first one presented that does
 * not contain `serverKey` — server.api_key authenticated the client to ccmux and never goes
 * upstream, not even as part of a longer value.
 */
export function clientCredential(
  headers: Headers,
  serverKey: string | undefined,
): ClientCredential | undefined {
  for (const c of presentedCredentials(headers)) {
    if (!serverKey || !c.value.includes(serverKey)) return c;
  }
  return undefined;
}

/**
 * The client's forwardable headers as an object without a prototype (lower-case names), so a
 * header named `constructor` or `__proto__` is an ordinary entry; without credentials.
 * `credential` (a passthrough provider's client credential) is added back as sent. `raw`, the
 * same headers as received (name, value, ...), is read instead of `client` when given.
 */
export function forwardHeaders(
  client: Headers,
  credential?: ClientCredential,
  raw?: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (raw) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (DROP_REQUEST.has(name) || name.startsWith("proxy-")) continue;
      // Repeated names joined as Headers joins them.
      const had = out[name];
      out[name] = had === undefined ? raw[i + 1] : `${had}, ${raw[i + 1]}`;
    }
  } else {
    client.forEach((value, name) => {
      if (!DROP_REQUEST.has(name) && !name.startsWith("proxy-")) out[name] = value;
    });
  }
  if (credential) out[credential.header] = credential.value;
  return out;
}

/**
 * Sets a provider's configured `headers` on `headers`, then asks for identity encoding: the
 * bytes must stream through undecoded (content-encoding is not passed back), so no provider
 * entry may change it.
 */
export function applyProviderHeaders(
  headers: Record<string, string>,
  provider: Record<string, string>,
): void {
  for (const name in provider) headers[name.toLowerCase()] = provider[name];
  headers["accept-encoding"] = "identity";
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

/**
 * The upstream response's headers to return to the client (request-id, ratelimits, ...), added
 * to `out` (default: a new Headers).
 */
export function responseHeaders(upstream: Headers, out: Headers = new Headers()): Headers {
  upstream.forEach((value, name) => {
    if (!DROP_RESPONSE.has(name)) out.append(name, value);
  });
  return out;
}
