/**
 * ccmux as a library: what another program may import.
 *
 * @example
 * ```ts
 * import { loadConfig, selectRoute } from "./mod.ts";
 * const config = loadConfig({ env: process.env });
 * const route = selectRoute(config, { model: "claude-sonnet-4-5", messages: [] }, new Headers());
 * console.log(route.candidates[0].provider.name);
 * ```
 * @module
 */

/** Config loading and validation: `loadConfig({ env, file })` → Config; ConfigError lists issues. */
export {
  type Config,
  ConfigError,
  loadConfig,
  parseConfig,
  PRESETS,
  showConfig,
} from "./src/config/mod.ts";

/** Routing: `selectRoute(config, body, headers)` → the rule that matched and the candidates. */
export { selectRoute } from "./src/proxy/router.ts";
export { type Candidate, type RouteDecision, RouteError } from "./src/proxy/route_types.ts";

/** Fast input-token estimate used by long_context routing and local count_tokens. */
export { estimateInputTokens } from "./src/proxy/estimate.ts";

/** The token file (0600, atomic, locked across processes) and single-flight refresh. */
export { openTokenStore, TokenFileError, TokenStore } from "./src/auth/token_store.ts";
export { LoginRequiredError, TokenManager } from "./src/auth/refresh.ts";
export type { TokenFile, TokenRecord } from "./src/auth/types.ts";

/** Anthropic ⇄ OpenAI Chat Completions translation (pure functions). */
export { anthropicToOpenAI } from "./src/translate/request.ts";
export { openAIToAnthropic } from "./src/translate/response.ts";
export { translateStream } from "./src/translate/stream.ts";

/** The CLI itself: `main(argv)` resolves to the exit code. */
export { main } from "./src/cli/main.ts";

/**
 * The proxy: `createApp({ config, tokens? })` → `{ fetch, reload, ... }` to serve with any
 * fetch-style server; adapters implement `ProviderAdapter` for one upstream protocol.
 */
export { type AppOptions, type CcmuxApp, createApp } from "./src/proxy/app.ts";
export type {
  PathKind,
  ProviderAdapter,
  TokenSource,
  UpstreamRequest,
} from "./src/proxy/provider.ts";
