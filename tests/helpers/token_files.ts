// Token-file fixtures for the token store and token command tests.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TokenFile, TokenRecord } from "../../src/auth/types.ts";
import { rfc3339 } from "../../src/auth/refresh.ts";

/** A record for `id` expiring `inS` seconds from now (negative: already expired). */
export function record(
  id: string,
  refreshToken: string | undefined,
  inS: number,
  extra: Partial<TokenRecord> = {},
): TokenRecord {
  return {
    provider_id: id,
    access_token: `old-at-${id}-${Math.random().toString(36).slice(2)}`,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    expires_at: rfc3339(Date.now() + inS * 1000),
    kind: "anthropic",
    scopes: ["user:inference"],
    ...extra,
  };
}

/**
 * Writes `home/config.toml` pointing the accounts' token endpoints at `tokenUrl` and
 * `home/oauth_tokens.json` (0600). Returns the paths.
 */
export function writeSetup(
  home: string,
  tokenUrl: string,
  doc: TokenFile,
  oauth: Record<string, Record<string, string>> = {},
): { config: string; tokens: string } {
  mkdirSync(home, { recursive: true });
  const tokens = join(home, "oauth_tokens.json");
  const config = join(home, "config.toml");
  const tables = Object.keys(doc).map((id) => {
    const o = { kind: doc[id].kind ?? "anthropic", token_url: tokenUrl, ...oauth[id] };
    const lines = Object.entries(o).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
    return `[oauth.${JSON.stringify(id)}]\n${lines.join("\n")}\n`;
  });
  writeFileSync(config, tables.join("\n"));
  writeFileSync(tokens, JSON.stringify(doc, null, 2) + "\n");
  chmodSync(tokens, 0o600);
  return { config, tokens };
}

/** Fails when any of `secrets` appears in `text` (test output must not carry tokens). */
export function assertNoSecrets(text: string, secrets: (string | undefined)[]): void {
  for (const s of secrets) {
    if (s && text.includes(s)) throw new Error("output contains a secret token");
  }
}
