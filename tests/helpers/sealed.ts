// The encrypted token store in tests: a fresh key, sealing a fixture file the way ccmux does
// (its own codec, in-process), reading it back, and checking that no token shows in the file
// in clear, in base64 or in base64url (at every byte alignment).
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { sealedCodec } from "../../src/auth/sealed.ts";
import { toBase64 } from "../../src/auth/token_key.ts";
import type { AuthConfig } from "../../src/config/types.ts";
import type { TokenFile } from "../../src/auth/types.ts";

/** The stores the token store's guarantees are tested on. */
export const STORES = ["file", "encrypted"] as const;
export type Store = typeof STORES[number];

/** A new random key as CCMUX_TOKEN_KEY takes it. */
export function newKey(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

function envAuth(path: string): AuthConfig {
  return {
    token_file: path,
    refresh_skew_s: 300,
    store: "encrypted",
    key_source: "env",
    background_refresh: false,
  };
}

/** The token file's document, decrypted with `key` when given. */
export async function readDoc(path: string, key?: string): Promise<TokenFile> {
  const text = readFileSync(path, "utf8");
  if (!key) return JSON.parse(text);
  return await sealedCodec(envAuth(path), { CCMUX_TOKEN_KEY: key }).decode(path, text);
}

/** Seals the plain token file at `path` in place with `key`. */
export async function sealFile(path: string, key: string): Promise<void> {
  const doc = JSON.parse(readFileSync(path, "utf8"));
  const text = await sealedCodec(envAuth(path), { CCMUX_TOKEN_KEY: key }).encode(path, doc);
  writeFileSync(path, text, { mode: 0o600 });
}

/**
 * Turns a writeSetup() home into an encrypted one (key_source "env"): the config gets the
 * [auth] table, the token file is sealed. Returns the env additions for ccmux.
 */
export async function useEncrypted(
  files: { config: string; tokens: string },
  key = newKey(),
  authExtra = "",
): Promise<{ key: string; env: Record<string, string> }> {
  appendFileSync(files.config, `\n[auth]\nstore = "encrypted"\nkey_source = "env"\n${authExtra}`);
  await sealFile(files.tokens, key);
  return { key, env: { CCMUX_TOKEN_KEY: key } };
}

/** Every form a token could take in a file that merely encoded it. */
function encodings(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const out = [secret];
  for (let shift = 0; shift < 3; shift++) {
    const padded = new Uint8Array(shift + bytes.length);
    padded.set(bytes, shift);
    let b64 = toBase64(padded).replace(/=+$/, "");
    // Drop the characters that mix in the padding bytes and the tail's partial group.
    b64 = b64.slice(Math.ceil((shift * 4) / 3) + (shift ? 1 : 0), b64.length - 3);
    if (b64.length < 8) continue;
    out.push(b64, b64.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return out;
}

/** Fails when the file at `path` shows any of `secrets` in clear, base64 or base64url. */
export function assertNoTokensIn(path: string, secrets: (string | undefined)[]): void {
  const text = readFileSync(path, "utf8");
  for (const s of secrets) {
    if (!s) continue;
    for (const form of encodings(s)) {
      if (text.includes(form)) {
        throw new Error(`the token file shows a token (${form.length} chars)`);
      }
    }
  }
}
