// The effective configuration after loading, env expansion, defaults and validation.
import type { Api } from "./presets.ts";

export type LogLevel = "error" | "warn" | "info" | "debug";
export type AuthType = "apikey" | "oauth" | "passthrough";
export type OAuthKind = "anthropic" | "anthropic-console" | "openai" | "oidc" | "github-copilot";

export interface ServerConfig {
  host: string;
  port: number;
  api_key?: string;
  log_level: LogLevel;
  log_format: "text" | "json";
  allowed_hosts: string[];
  max_body_mb: number;
  timeouts: {
    /** Until the upstream's response headers (time to first byte). */
    api_timeout_ms: number;
    /** The longest silence between two chunks of a response body; a flowing stream is never cut. */
    idle_timeout_ms: number;
    connect_timeout_ms: number;
  };
}

export interface RouterConfig {
  default?: string;
  background?: string;
  think?: string;
  websearch?: string;
  long_context?: string;
  long_context_threshold: number;
  auto_map_regex?: string;
  background_regex?: string;
  /** claude-code-mux key, accepted for compatibility; the subagent tag names its model itself. */
  subagent?: string;
  /** Seconds a provider is skipped after `cooldown_failures` consecutive failures. */
  cooldown_s: number;
  cooldown_failures: number;
  /** A provider with a quota window at or above this fraction is tried after the others (1: off). */
  quota_soft_limit: number;
}

/** `[metrics]`: GET /metrics in the Prometheus text format. */
export interface MetricsConfig {
  enabled: boolean;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  token?: string;
}

/** `[admin]`: the management API (/api/*) and the admin page (/admin). */
export interface AdminConfig {
  enabled: boolean;
  /** The admin bearer token; when unset, one is generated into $CCMUX_HOME/admin_token. */
  token?: string;
  /** Let the API answer when serve listens on a non-loopback host (needs server.api_key). */
  allow_remote: boolean;
}

export interface ProviderConfig {
  name: string;
  provider_type: string;
  /** Resolved from provider_type: the protocol spoken upstream. */
  api: Api;
  auth_type: AuthType;
  oauth_provider?: string;
  api_key?: string;
  /** Resolved: the config's base_url, else the preset's, without a trailing slash. */
  base_url: string;
  enabled: boolean;
  /** Preset headers merged with the config's (config wins). */
  headers: Record<string, string>;
  models: string[];
  /** OpenAI-compatible only: send max_completion_tokens instead of max_tokens. */
  max_completion_tokens: boolean;
  /** OpenAI-compatible only: clamp max_tokens to this (0 = no clamp). */
  max_output_tokens: number;
  /** Set (true) only when the user accepts sending credentials over plain http:// off this host. */
  allow_insecure_http?: true;
}

export interface ModelMapping {
  provider: string;
  actual_model: string;
  priority: number;
  strip_beta_options: boolean;
  strip_specific_beta: string[];
}

export interface ModelConfig {
  name: string;
  /** Sorted by priority, 1 first. */
  mappings: ModelMapping[];
}

export interface AuthConfig {
  token_file: string;
  refresh_skew_s: number;
  /** "file": the claude-code-mux JSON file; "encrypted": the same file sealed (AES-256-GCM). */
  store: "file" | "encrypted";
  /** Where the encrypted store's key comes from; "auto": the keychain when usable, else env. */
  key_source: "auto" | "keychain" | "env" | "file";
  /** With key_source "file" (or "auto" without keychain and CCMUX_TOKEN_KEY): the key's file. */
  key_file?: string;
  /** serve refreshes OAuth accounts refresh_skew_s before they expire, off the request path. */
  background_refresh: boolean;
}

/** `[oauth.ID]`: overrides of the kind's built-in endpoints. All optional. */
export interface OAuthAccountConfig {
  kind?: OAuthKind;
  client_id?: string;
  authorize_url?: string;
  token_url?: string;
  revoke_url?: string;
  redirect_uri?: string;
  paste_redirect_uri?: string;
  api_key_url?: string;
  /** Device sign-in (`ccmux login ID --device`): where it starts. */
  device_authorization_url?: string;
  scopes?: string[];
  issuer?: string;
  /** github-copilot: github.com (default) or a GHE.com domain such as company.ghe.com. */
  domain?: string;
  /** github-copilot: trade the GitHub token for a short-lived Copilot session token. */
  copilot_token_exchange?: boolean;
  /** github-copilot: where that trade happens (default https://api.DOMAIN/copilot_internal/v2/token). */
  copilot_token_url?: string;
}

export interface Config {
  /** The file this came from; undefined for the embedded default. */
  path?: string;
  /** $CCMUX_HOME or ~/.claude-code-mux. */
  home: string;
  server: ServerConfig;
  router: RouterConfig;
  providers: ProviderConfig[];
  models: ModelConfig[];
  auth: AuthConfig;
  oauth: Record<string, OAuthAccountConfig>;
  metrics: MetricsConfig;
  admin: AdminConfig;
  /** Non-fatal notes from loading (legacy keys ignored, and so on). */
  warnings: string[];
  /** Unset "$VAR"s let pass by a lenient load (see LoadOptions.lenientEnv); else empty. */
  unsetEnv: { path: string; variable: string }[];
}
