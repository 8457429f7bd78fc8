// The router's answer, shared by the router (which decides) and the dispatcher (which tries
// the candidates in order with failover).
import type { ProviderConfig } from "../config/types.ts";

/** Which routing rule (docs/CONFIG.md, "How a request is routed") picked the model. */
export type RouteRule =
  | "subagent"
  | "websearch"
  | "long_context"
  | "background"
  | "think"
  | "default"
  | "model"
  | "fallback";

/** One upstream to try: a provider and the model name it is sent. */
export interface Candidate {
  provider: ProviderConfig;
  actual_model: string;
  /** claude-code-mux mapping options: drop every beta, or the listed ones, from anthropic-beta. */
  strip_beta_options: boolean;
  strip_specific_beta: string[];
}

/** The router's decision for one request. */
export interface RouteDecision {
  rule: RouteRule;
  /** The model name the rule chose (a [[models]] name, "provider/model", or the client's). */
  model: string;
  /** In priority order; already filtered by X-Provider. Never empty. */
  candidates: Candidate[];
  /** True when the router edited the body (the subagent tag was removed from system). */
  bodyChanged: boolean;
}

/** No route: the client named a model nothing serves (404), or X-Provider names none (400). */
export class RouteError extends Error {
  constructor(message: string, readonly status: 400 | 404) {
    super(message);
    this.name = "RouteError";
  }
}
