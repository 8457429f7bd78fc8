// The encrypted token store's key: 32 random bytes from the OS keychain, CCMUX_TOKEN_KEY or a
// 0600 key file (docs/SECURITY.md, "Encryption at rest"). "auto" takes the keychain when it
// answers, else CCMUX_TOKEN_KEY, else [auth] key_file, and says which it took. The key is read
// once per store and never printed; messages name its source and its id, never its bytes.
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import type { AuthConfig } from "../config/types.ts";
import { TokenFileError } from "./token_store.ts";
import { type Keychain, KEYCHAIN_SERVICE, systemKeychain } from "./keychain.ts";

type Env = Record<string, string | undefined>;

/** A usable key. */
export interface TokenKey {
  key: CryptoKey;
  /** "sha256:" + 16 hex digits of SHA-256 over the key: tells keys apart, reveals nothing. */
  kid: string;
}

/** Gives the key; `create` (writes only) may make one where the source can hold it. */
export interface KeySource {
  get(opts: { create: boolean }): Promise<TokenKey>;
  /** Where the key came from, once known: `CCMUX_TOKEN_KEY (key_source "env")`, … */
  describe(): string | undefined;
}

export const KEY_ENV = "CCMUX_TOKEN_KEY";
const MAKE_ONE = "make one with: openssl rand -base64 32";

/** Options, for tests: another keychain. */
export interface KeySourceOptions {
  keychain?: Keychain | { none: string };
}

/** The key source `auth` asks for, for the token file at `path`. */
export function keySource(
  auth: AuthConfig,
  env: Env,
  path: string,
  opts: KeySourceOptions = {},
): KeySource {
  let label: string | undefined;
  let cached: Promise<TokenKey> | undefined;
  const fail = (detail: string) => new TokenFileError(path, detail);
  const keychain = () => opts.keychain ?? systemKeychain(env);

  const fromEnv = async (why: string): Promise<TokenKey> => {
    const v = env[KEY_ENV];
    if (v === undefined || v.trim() === "") {
      throw fail(`its key comes from ${KEY_ENV}${why}, which is not set (${MAKE_ONE})`);
    }
    label = `${KEY_ENV}${why}`;
    return await importKey(decodeKey(v, () => fail(`${KEY_ENV} is not a key: ${KEY_SHAPE}`)));
  };

  const fromFile = async (why: string): Promise<TokenKey> => {
    if (!auth.key_file) throw fail('[auth] key_file is not set (key_source = "file")');
    const file = resolve(auth.key_file);
    const text = readKeyFile(file, (d) => fail(`the key file ${file} ${d}`));
    label = `the key file ${file}${why}`;
    return await importKey(
      decodeKey(text, () => fail(`the key file ${file} is not a key: ${KEY_SHAPE}`)),
    );
  };

  const fromKeychain = async (kc: Keychain, create: boolean, why: string): Promise<TokenKey> => {
    const found = await kc.lookup(path);
    const where = `${kc.name}, service "${KEYCHAIN_SERVICE}", account "${path}"`;
    if ("unusable" in found) throw fail(`cannot read its key from ${where}: ${found.unusable}`);
    label = `${kc.name}${why}`;
    if ("found" in found) {
      return await importKey(
        decodeKey(found.found, () => fail(`the item in ${where} is not a key`)),
      );
    }
    if (!create) {
      throw fail(
        `its key is not in ${where}; the file was sealed elsewhere or the item was removed ` +
          "(use the key_source that sealed it, or sign in again after removing the file)",
      );
    }
    // Nothing sealed yet (or a migration): a new random key, kept only in the keychain.
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const b64 = toBase64(bytes);
    try {
      await kc.store(path, b64);
    } catch (e) {
      throw fail(`cannot store a new key in ${where}: ${(e as Error).message}`);
    }
    return await importKey(bytes);
  };

  const resolveKey = async (create: boolean): Promise<TokenKey> => {
    switch (auth.key_source) {
      case "env":
        return await fromEnv(' (key_source "env")');
      case "file":
        return await fromFile(' (key_source "file")');
      case "keychain": {
        const kc = keychain();
        if ("none" in kc) throw fail(`key_source = "keychain", but there is ${kc.none}`);
        return await fromKeychain(kc, create, ' (key_source "keychain")');
      }
      default: {
        // auto: the keychain when it answers, else the environment, else the key file.
        const kc = keychain();
        let why = "none" in kc ? kc.none : "";
        if (!("none" in kc)) {
          const probe = await kc.lookup(path);
          if (!("unusable" in probe)) return await fromKeychain(kc, create, AUTO_PICKED);
          why = `${kc.name} answered: ${probe.unusable}`;
        }
        const note = ` (key_source "auto"; no usable keychain: ${why})`;
        if (env[KEY_ENV] !== undefined && env[KEY_ENV] !== "") return await fromEnv(note);
        if (auth.key_file) return await fromFile(note);
        throw fail(
          `the encrypted store has no key: the keychain cannot be used (${why}), ${KEY_ENV} is ` +
            'not set and [auth] key_file is not set; set one of them (key_source = "env" or ' +
            `"file" on servers without a keychain; ${MAKE_ONE})`,
        );
      }
    }
  };

  return {
    get({ create }) {
      // A failed lookup is not cached: the user may fix it while serve runs.
      cached ??= resolveKey(create).catch((e) => {
        cached = undefined;
        throw e;
      });
      return cached;
    },
    describe: () => label,
  };
}

const AUTO_PICKED = ' (key_source "auto" picked the keychain)';
const KEY_SHAPE = `expected 32 bytes in base64 (${MAKE_ONE})`;

/** 32 bytes from base64 (standard or URL-safe, whitespace ignored), else onError(). */
export function decodeKey(text: string, onError: () => Error): Uint8Array {
  const s = text.trim().replace(/-/g, "+").replace(/_/g, "/");
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(s);
  } catch {
    throw onError();
  }
  if (bytes.length !== 32) throw onError();
  return bytes;
}

/**
 * The key file's text: ours (or root's), a regular file, no access for group or others
 * (refused, as ssh refuses a private key others can read: unlike the token file, ccmux did not
 * write it, so it does not fix it).
 */
function readKeyFile(file: string, fail: (detail: string) => Error): string {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(
      code === "ENOENT"
        ? `does not exist (${MAKE_ONE} > FILE; chmod 600 FILE)`
        : `cannot be read (${code})`,
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fail("is not a regular file");
    if (process.platform !== "win32") {
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
        throw fail(`belongs to another user (uid ${st.uid})`);
      }
      const mode = st.mode & 0o777;
      if (mode & 0o077) {
        throw fail(
          `is accessible by others (mode 0${
            mode.toString(8).padStart(3, "0")
          }); run: chmod 600 ${file}`,
        );
      }
    }
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

async function importKey(bytes: Uint8Array): Promise<TokenKey> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  const kid = "sha256:" + [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  const key = await crypto.subtle.importKey("raw", bytes as BufferSource, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return { key, kid };
}

/** Base64 (standard alphabet, padded), the same on both runtimes. */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
