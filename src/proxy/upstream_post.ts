// One upstream POST with the config's connect and idle timeouts: what the translating adapters
// (Chat Completions, Responses) send. The wait for the response headers (api_timeout_ms) is the
// dispatcher's.
import type { Config } from "../config/types.ts";
import { upstreamFetch } from "../runtime/http_client.ts";

export function postUpstream(
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  timeouts: Config["server"]["timeouts"],
): Promise<Response> {
  return upstreamFetch(url, {
    method: "POST",
    headers,
    body,
    signal,
    connectTimeoutMs: timeouts.connect_timeout_ms,
    idleTimeoutMs: timeouts.idle_timeout_ms,
  });
}
