// The encrypted token store (`[auth] store = "encrypted"`): the token file's JSON sealed with
// AES-256-GCM through WebCrypto (the same code on Deno and Node), in a versioned envelope:
//
//   { "ccmux_sealed": 1, "alg": "AES-256-GCM", "kid": "sha256:…", "nonce": "<base64, 12 bytes>",
//     "accounts": ["claude-max", …], "ciphertext": "<base64: sealed JSON + 16-byte tag>" }
//
// The account IDs stay readable (the embedded default config looks for `claude-max` without a
// key); they, the version, the algorithm and the key id are bound to the ciphertext as
// additional data, so changing any of them makes the file undecryptable rather than misread.
// A fresh nonce for every write. Loaded only for this store (`ccmux token` on the plain file
// never pays for WebCrypto or a keychain).
import type { AuthConfig } from "../config/types.ts";
import type { TokenFile } from "./types.ts";
import {
  isSealedDoc,
  parseTokenFile,
  SEALED_MARK,
  type TokenCodec,
  TokenFileError,
} from "./token_store.ts";
import {
  fromBase64,
  type KeySource,
  keySource,
  type KeySourceOptions,
  toBase64,
} from "./token_key.ts";

export const ENVELOPE_VERSION = 1;
export const ALG = "AES-256-GCM";

/** The envelope as written. */
export interface Envelope {
  [SEALED_MARK]: number;
  alg: string;
  kid: string;
  nonce: string;
  accounts: string[];
  ciphertext: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function aad(v: number, alg: string, kid: string, accounts: string[]): Uint8Array {
  return enc.encode(JSON.stringify([v, alg, kid, accounts]));
}

/** The codec for `auth` (its key source resolved on first use). */
export function sealedCodec(
  auth: AuthConfig,
  env: Record<string, string | undefined>,
  opts: KeySourceOptions = {},
): TokenCodec {
  let keys: KeySource | undefined;
  const source = (path: string) => keys ??= keySource(auth, env, path, opts);
  return {
    format: "encrypted",
    async decode(path, text) {
      const doc = parseTokenFile(path, text) as unknown;
      if (!isSealedDoc(doc)) {
        throw new TokenFileError(
          path,
          'it is not encrypted (plain JSON) but [auth] store is "encrypted"; ' +
            "run: ccmux tokens migrate --to encrypted",
        );
      }
      return await open(path, doc, source(path));
    },
    async encode(path, doc) {
      const { key, kid } = await source(path).get({ create: true });
      const accounts = Object.keys(doc);
      const nonce = crypto.getRandomValues(new Uint8Array(12));
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt(
          {
            name: "AES-GCM",
            iv: nonce as BufferSource,
            additionalData: aad(ENVELOPE_VERSION, ALG, kid, accounts) as BufferSource,
          },
          key,
          enc.encode(JSON.stringify(doc)) as BufferSource,
        ),
      );
      const envelope: Envelope = {
        [SEALED_MARK]: ENVELOPE_VERSION,
        alg: ALG,
        kid,
        nonce: toBase64(nonce),
        accounts,
        ciphertext: toBase64(sealed),
      };
      return JSON.stringify(envelope, null, 2) + "\n";
    },
    describe: () => keys?.describe(),
  };
}

/** Decrypts an envelope; every failure is a TokenFileError naming the file, quoting nothing. */
async function open(
  path: string,
  env: Record<string, unknown>,
  keys: KeySource,
): Promise<TokenFile> {
  const fail = (detail: string) => new TokenFileError(path, detail);
  const v = env[SEALED_MARK];
  if (v !== ENVELOPE_VERSION) {
    throw fail(
      `it is sealed in envelope version ${v}, which this ccmux does not know (upgrade ccmux)`,
    );
  }
  if (env.alg !== ALG) {
    throw fail(`it is sealed with an unknown algorithm (${String(env.alg).slice(0, 40)})`);
  }
  const { kid, nonce, ciphertext, accounts } = env;
  if (
    typeof kid !== "string" || typeof nonce !== "string" || typeof ciphertext !== "string" ||
    !Array.isArray(accounts) || !accounts.every((a) => typeof a === "string")
  ) {
    throw fail("its envelope is damaged (a field is missing or of the wrong type)");
  }
  let iv: Uint8Array;
  let data: Uint8Array;
  try {
    iv = fromBase64(nonce);
    data = fromBase64(ciphertext);
  } catch {
    throw fail("its envelope is damaged (not base64)");
  }
  const { key, kid: ours } = await keys.get({ create: false });
  if (kid !== ours) {
    throw fail(
      `it was sealed with another key (key id ${kid.slice(0, 40)}; the key from ` +
        `${keys.describe()} has id ${ours}); use the key that sealed it`,
    );
  }
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: iv as BufferSource,
        additionalData: aad(v, ALG, kid, accounts as string[]) as BufferSource,
      },
      key,
      data as BufferSource,
    );
  } catch {
    throw fail(
      "it cannot be decrypted: it was damaged or changed (the authentication tag does not match)",
    );
  }
  let text: string;
  try {
    text = dec.decode(plain);
  } catch {
    throw fail("its decrypted content is not UTF-8");
  }
  const doc = parseTokenFile(path, text);
  if (isSealedDoc(doc)) throw fail("it holds a sealed file inside a sealed file");
  return doc;
}
