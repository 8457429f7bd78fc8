// A one-line, secret-free reason for a failed network call, shared by the proxy (failover steps,
// broken streams) and the token refresh: both runtimes' fetch errors and node:http errors.

/** Error codes that mean the connection itself could not be made. */
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * "connect ECONNREFUSED", "ECONNRESET", or the message with its cause ("fetch failed (…)"),
 * first line only. Messages of network errors name hosts and codes, never request contents.
 */
export function describeError(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err?.cause?.code ?? err?.code;
  if (typeof code === "string" && code) return CONNECT_CODES.has(code) ? `connect ${code}` : code;
  // Deno's fetch names the OS error in the message only.
  const text = `${err?.message ?? ""} ${err?.cause?.message ?? ""}`;
  if (/connection refused/i.test(text)) return "connect ECONNREFUSED";
  if (/connection reset/i.test(text)) return "ECONNRESET";
  if (/dns|lookup|name or service not known/i.test(text)) return "connect ENOTFOUND";
  const message = err?.message ?? String(e);
  const cause = err?.cause?.message;
  const full = cause && cause !== message ? `${message} (${cause})` : message;
  return full.split("\n")[0].slice(0, 200);
}
