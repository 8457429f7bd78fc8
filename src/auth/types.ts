// Shapes of the token file (docs/OAUTH_SETUP.md, "What is stored"), shared by the token store,
// refresh, login and serve.

/** One account in oauth_tokens.json. Unknown fields are kept as they are. */
export interface TokenRecord {
  provider_id: string;
  access_token: string;
  refresh_token?: string;
  /** RFC 3339. */
  expires_at?: string;
  kind?: string;
  scopes?: string[];
  token_type?: string;
  account?: { email?: string; uuid?: string; [k: string]: unknown };
  /** anthropic-console: the API key created at sign-in. */
  api_key?: string;
  /** openai: chatgpt_account_id from the id_token. */
  account_id?: string;
  id_token?: string;
  /** Set when the refresh token is dead: `ccmux login ID` is needed. */
  needs_login?: boolean;
  [field: string]: unknown;
}

/** The whole token file: account ID → record. */
export type TokenFile = Record<string, TokenRecord>;
