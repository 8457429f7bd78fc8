// Built-in OAuth kinds (see docs/OAUTH_SETUP.md) and their resolution against `[oauth.ID]`.
import type { Config, OAuthAccountConfig, OAuthKind } from "../config/types.ts";
import { GITHUB_DOMAIN, githubUrls } from "./github_urls.ts";

/** Every endpoint and parameter of one account's OAuth client, after overrides. */
export interface ResolvedOAuth {
  id: string;
  kind: OAuthKind;
  client_id: string;
  /** Undefined only for oidc before discovery. */
  authorize_url?: string;
  token_url?: string;
  revoke_url?: string;
  /** Loopback redirect; `PORT` is replaced by the callback server's port. */
  redirect_uri: string;
  /** Redirect whose page shows CODE#STATE for pasting (anthropic kinds). */
  paste_redirect_uri?: string;
  api_key_url?: string;
  /**
   * Where a device sign-in starts (`ccmux login ID --device`); undefined for kinds without one.
   * openai: its own device endpoints (src/auth/device_openai.ts derives the rest from this URL).
   */
  device_authorization_url?: string;
  scopes: string[];
  issuer?: string;
  /** Token endpoint body encoding for code exchange and refresh. */
  body: "json" | "form";
  /** Refresh body encoding (openai refreshes with JSON although it exchanges codes with a form). */
  refresh_body: "json" | "form";
  /** Fixed loopback ports to try in order ([] = any free port). */
  fixed_ports: number[];
  /** Extra authorize query parameters. */
  authorize_params: Record<string, string>;
  /** github-copilot: github.com or a GHE.com domain. */
  domain?: string;
  /** github-copilot: trade the GitHub token for a Copilot session token (in serve's memory). */
  copilot_token_exchange?: boolean;
  /** github-copilot: the token exchange endpoint. */
  copilot_token_url?: string;
}

const ANTHROPIC_CLIENT_ID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
const ANTHROPIC_TOKEN = "https://console.anthropic.com/v1/oauth/token";

const DEFAULTS: Record<OAuthKind, Omit<ResolvedOAuth, "id" | "kind">> = {
  "anthropic": {
    client_id: ANTHROPIC_CLIENT_ID,
    authorize_url: "https://claude.ai/oauth/authorize",
    token_url: ANTHROPIC_TOKEN,
    revoke_url: `${ANTHROPIC_TOKEN}/revoke`,
    redirect_uri: "http://localhost:PORT/callback",
    paste_redirect_uri: "https://console.anthropic.com/oauth/code/callback",
    scopes: ["org:create_api_key", "user:profile", "user:inference"],
    body: "json",
    refresh_body: "json",
    fixed_ports: [],
    authorize_params: { code: "true" },
  },
  "anthropic-console": {
    client_id: ANTHROPIC_CLIENT_ID,
    authorize_url: "https://console.anthropic.com/oauth/authorize",
    token_url: ANTHROPIC_TOKEN,
    revoke_url: `${ANTHROPIC_TOKEN}/revoke`,
    redirect_uri: "http://localhost:PORT/callback",
    paste_redirect_uri: "https://console.anthropic.com/oauth/code/callback",
    api_key_url: "https://api.anthropic.com/api/oauth/claude_cli/create_api_key",
    scopes: ["org:create_api_key", "user:profile", "user:inference"],
    body: "json",
    refresh_body: "json",
    fixed_ports: [],
    authorize_params: { code: "true" },
  },
  "openai": {
    client_id: "app_EMoamEEZ73f0CkXaXp7hrann",
    issuer: "https://auth.openai.com",
    authorize_url: "https://auth.openai.com/oauth/authorize",
    token_url: "https://auth.openai.com/oauth/token",
    revoke_url: "https://auth.openai.com/oauth/revoke",
    device_authorization_url: "https://auth.openai.com/api/accounts/deviceauth/usercode",
    redirect_uri: "http://localhost:PORT/auth/callback",
    scopes: ["openid", "profile", "email", "offline_access"],
    body: "form",
    refresh_body: "json",
    fixed_ports: [1455, 1457],
    authorize_params: {
      id_token_add_organizations: "true",
      codex_cli_simplified_flow: "true",
    },
  },
  // GitHub signs in with the device flow only; there is no shared client: the user's (or the
  // organisation's) own OAuth App, [oauth.ID] client_id. Endpoints follow `domain`.
  "github-copilot": {
    client_id: "",
    ...githubEndpoints(GITHUB_DOMAIN),
    redirect_uri: "http://localhost:PORT/callback",
    scopes: ["read:user"],
    body: "form",
    refresh_body: "form",
    fixed_ports: [],
    authorize_params: {},
    domain: GITHUB_DOMAIN,
    copilot_token_exchange: false,
  },
  "oidc": {
    client_id: "",
    redirect_uri: "http://localhost:PORT/callback",
    scopes: ["openid", "offline_access"],
    body: "form",
    refresh_body: "form",
    fixed_ports: [],
    authorize_params: {},
  },
};

/** The kind an account ID implies when its `[oauth.ID]` table names none. */
export function impliedKind(id: string): OAuthKind | undefined {
  if (id === "claude-max" || id === "anthropic" || id === "claude-pro") return "anthropic";
  if (id === "anthropic-console" || id === "console") return "anthropic-console";
  if (id === "openai" || id === "chatgpt" || id === "codex") return "openai";
  if (id === "github-copilot" || id === "copilot") return "github-copilot";
  return undefined;
}

/** Account IDs the config names: `[oauth.*]` tables and providers' `oauth_provider`. */
export function configuredAccounts(config: Config): string[] {
  const ids = new Set(Object.keys(config.oauth));
  for (const p of config.providers) {
    if (p.auth_type === "oauth" && p.oauth_provider) ids.add(p.oauth_provider);
  }
  return [...ids];
}

/**
 * Resolves account `id`'s OAuth client from its `[oauth.ID]` table (if any) over the kind's
 * defaults. `storedKind` is the kind recorded in the token file, used when the config is silent.
 * Returns undefined when no kind can be determined.
 */
export function resolveOAuth(
  config: Config,
  id: string,
  storedKind?: string,
): ResolvedOAuth | undefined {
  const o: OAuthAccountConfig = config.oauth[id] ?? {};
  const kind = o.kind ?? (isKind(storedKind) ? storedKind : undefined) ?? impliedKind(id);
  if (!kind) return undefined;
  const d = kind === "github-copilot" && o.domain
    ? { ...DEFAULTS[kind], ...githubEndpoints(o.domain), domain: o.domain }
    : DEFAULTS[kind];
  return {
    ...d,
    id,
    kind,
    client_id: o.client_id ?? d.client_id,
    authorize_url: o.authorize_url ?? d.authorize_url,
    token_url: o.token_url ?? d.token_url,
    revoke_url: o.revoke_url ?? (o.token_url ? revokeBeside(o.token_url, d.body) : d.revoke_url),
    redirect_uri: o.redirect_uri ?? d.redirect_uri,
    paste_redirect_uri: o.paste_redirect_uri ?? d.paste_redirect_uri,
    api_key_url: o.api_key_url ?? d.api_key_url,
    device_authorization_url: o.device_authorization_url ?? d.device_authorization_url,
    scopes: o.scopes ?? d.scopes,
    issuer: o.issuer ?? d.issuer,
    ...(kind === "github-copilot"
      ? {
        copilot_token_exchange: o.copilot_token_exchange ?? d.copilot_token_exchange,
        copilot_token_url: o.copilot_token_url ?? d.copilot_token_url,
      }
      : {}),
  };
}

/** The github-copilot endpoints for a domain (no revocation: GitHub's needs the app's secret). */
function githubEndpoints(domain: string) {
  const u = githubUrls(domain);
  return {
    authorize_url: u.authorize_url,
    token_url: u.token_url,
    revoke_url: undefined,
    device_authorization_url: u.device_authorization_url,
    copilot_token_url: u.copilot_token_url,
  };
}

/**
 * The revocation endpoint that belongs with an overridden token endpoint, so an override never
 * leaves revocation pointed at the built-in server: `{token_url}/revoke` for the anthropic kinds,
 * `…/token` → `…/revoke` for RFC 7009 servers, else none.
 */
function revokeBeside(tokenUrl: string, body: "json" | "form"): string | undefined {
  if (body === "json") return `${tokenUrl}/revoke`;
  return /\/token$/.test(tokenUrl) ? tokenUrl.replace(/\/token$/, "/revoke") : undefined;
}

function isKind(k: string | undefined): k is OAuthKind {
  return k !== undefined && k in DEFAULTS;
}
