// A credential and URL policy an adapter can be composed with: instead of the provider's own
// auth_type handling, the policy decides where a request goes and with which headers, and may
// call `attempt` more than once (a retry after a 401). The GitHub Copilot provider composes the
// Anthropic and OpenAI adapters with its policy (src/proxy/copilot_auth.ts).
import type { Candidate } from "./route_types.ts";
import type { UpstreamRequest } from "./provider.ts";

/** Where one attempt goes and what it carries. */
export interface UpstreamTarget {
  /** The API base, without a trailing slash (the adapter appends its path). */
  base: string;
  /** Headers to set (credentials, identity); the provider's `headers` are applied after them. */
  headers: Record<string, string>;
  /** The secret sent, masked in relayed error bodies. */
  credential: string;
}

export interface CredentialPolicy {
  /** Sends through `attempt` (once, or again after a rejected credential); its last response. */
  send(
    req: UpstreamRequest,
    cand: Candidate,
    attempt: (target: UpstreamTarget) => Promise<Response>,
  ): Promise<Response>;
}
