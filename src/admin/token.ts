// The admin token: `[admin] token`, else one generated once into $CCMUX_HOME/admin_token
// (0600, 32 random bytes, base64url) and read from there afterwards.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/types.ts";

/** The generated token's file. */
export function adminTokenFile(config: Config): string {
  return join(config.home, "admin_token");
}

/** The admin token, generating and saving one on first use when the config names none. */
export function adminToken(config: Config): string {
  if (config.admin.token) return config.admin.token;
  const file = adminTokenFile(config);
  const existing = readToken(file);
  if (existing) return existing;
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString("base64url");
  try {
    // "wx": two processes generating at once — the first one's token wins, the other reads it.
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as { code?: string }).code !== "EEXIST") throw e;
    const won = readToken(file);
    if (won) return won;
    throw new Error(`${file} exists but holds no token; remove it to generate a new one`);
  }
  chmodSync(file, 0o600);
  return token;
}

function readToken(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
}
