// The token file (docs/SECURITY.md, "Token file"): JSON keyed by account ID, 0600 in a 0700
// folder, replaced atomically, writers serialised in-process and across processes, never
// overwritten when it cannot be parsed, refused when another user could have written it.
// What the bytes hold is a codec's business (plain JSON by default; sealed: src/auth/sealed.ts,
// loaded only when the config asks for it); the lock and the atomic write are the same for all.
import {
  closeSync,
  fchmodSync,
  fstatSync,
  openSync,
  promises as fsp,
  readFileSync,
  statSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import type { TokenFile, TokenRecord } from "./types.ts";
import type { AuthConfig } from "../config/types.ts";
import { acquireLockFile, holderGone, randomHex, withProcessLock } from "./lock.ts";

/** The token file exists but is not a token file; it is left untouched. */
export class TokenFileError extends Error {
  constructor(readonly path: string, detail: string) {
    super(`cannot use the token file ${path}: ${detail}`);
    this.name = "TokenFileError";
  }
}

/** Options for TokenStore. */
export interface TokenStoreOptions {
  /** How long to wait for another process holding the lock (default 30 s). */
  lockTimeoutMs?: number;
  /** Where a warning goes (a loose file mode that was fixed); default: stderr. */
  warn?: (message: string) => void;
  /** How the file's text becomes the document and back (default: plain JSON). */
  codec?: TokenCodec;
}

/** The two formats of the token file. */
export type TokenFormat = "file" | "encrypted";

/**
 * Turns the token file's text into the document and back. decode() throws TokenFileError for
 * text it cannot use (never quoting it); the store then leaves the file untouched.
 */
export interface TokenCodec {
  readonly format: TokenFormat;
  decode(path: string, text: string): TokenFile | Promise<TokenFile>;
  encode(path: string, doc: TokenFile): string | Promise<string>;
  /** One line for humans about where the key came from (encrypted), once known. */
  describe?(): string | undefined;
}

/** Marks a sealed file: the envelope's version field (src/auth/sealed.ts). */
export const SEALED_MARK = "ccmux_sealed";

/** True when a parsed token file is a sealed envelope rather than accounts. */
export function isSealedDoc(doc: unknown): doc is Record<string, unknown> {
  return typeof doc === "object" && doc !== null && !Array.isArray(doc) &&
    typeof (doc as Record<string, unknown>)[SEALED_MARK] === "number";
}

/** The claude-code-mux format: pretty JSON keyed by account ID. */
export const plainCodec: TokenCodec = {
  format: "file",
  decode(path, text) {
    const doc = parseTokenFile(path, text);
    if (isSealedDoc(doc)) {
      throw new TokenFileError(
        path,
        'it is encrypted but [auth] store is "file"; set store = "encrypted" in [auth], or ' +
          "run: ccmux tokens migrate --to file",
      );
    }
    return doc;
  },
  encode: (_path, doc) => JSON.stringify(doc, null, 2) + "\n",
};

/** The codec of `[auth] store = "encrypted"`, loaded on first use (WebCrypto, keychains). */
function lazySealedCodec(auth: AuthConfig, env: Record<string, string | undefined>): TokenCodec {
  let codec: Promise<TokenCodec> | undefined;
  let loaded: TokenCodec | undefined;
  const get = () => codec ??= import("./sealed.ts").then((m) => loaded = m.sealedCodec(auth, env));
  return {
    format: "encrypted",
    decode: async (path, text) => (await get()).decode(path, text),
    encode: async (path, doc) => (await get()).encode(path, doc),
    describe: () => loaded?.describe?.(),
  };
}

/**
 * The token store the config asks for: the plain file, or the sealed one (its code is loaded
 * only then). Every command and serve open it here.
 */
export function openTokenStore(
  config: { auth: AuthConfig },
  opts: TokenStoreOptions & { env?: Record<string, string | undefined> } = {},
): TokenStore {
  const { env, ...rest } = opts;
  const codec = tokenCodec(config.auth, config.auth.store, env);
  return new TokenStore(config.auth.token_file, { codec, ...rest });
}

/** The codec of one format, with `auth`'s key settings (`ccmux tokens migrate` needs both). */
export function tokenCodec(
  auth: AuthConfig,
  format: TokenFormat,
  env: Record<string, string | undefined> = process.env,
): TokenCodec {
  return format === "encrypted" ? lazySealedCodec(auth, env) : plainCodec;
}

/**
 * Reads and writes the token file.
 *
 * @example
 * ```ts
 * const store = openTokenStore(config);
 * await store.update((doc) => { delete doc["old-account"]; });
 * ```
 */
export class TokenStore {
  readonly path: string;
  readonly lockPath: string;
  readonly codec: TokenCodec;
  #lockTimeoutMs?: number;
  #warn: (message: string) => void;

  constructor(path: string, opts: TokenStoreOptions = {}) {
    this.path = resolve(path);
    this.lockPath = `${this.path}.lock`;
    this.#lockTimeoutMs = opts.lockTimeoutMs;
    this.codec = opts.codec ?? plainCodec;
    this.#warn = opts.warn ?? ((m) => process.stderr.write(`ccmux: warning: ${m}\n`));
  }

  /** The whole file; `{}` when it does not exist. Throws TokenFileError when unusable. */
  async read(): Promise<TokenFile> {
    return (await this.readVersioned()).doc;
  }

  /**
   * read() plus the identity of the version read (from the same open file, so a writer that
   * replaces the file meanwhile cannot pair new content with an old identity). `identity` is
   * undefined when the file does not exist.
   */
  async readVersioned(): Promise<{ doc: TokenFile; identity?: FileIdentity }> {
    const raw = this.#readText();
    if (!raw) return { doc: {} };
    return { doc: await this.codec.decode(this.path, raw.text), identity: raw.identity };
  }

  /** The file's text and identity from one open file; undefined when it does not exist. */
  #readText(): { text: string; identity: FileIdentity } | undefined {
    // Synchronous on purpose: a token file is a few KB on a local disk, and the first
    // asynchronous fs call starts libuv's thread pool (~1–2 ms of `ccmux token`). In serve the
    // TokenManager reads it at most once per change (its cache).
    let text: string;
    let identity: FileIdentity;
    checkFolder(this.path);
    try {
      const fd = openSync(this.path, "r");
      try {
        const st = fstatSync(fd);
        this.#checkFile(fd, st);
        identity = identityOf(st);
        text = readFileSync(fd, "utf8");
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if (e instanceof TokenFileError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      throw new TokenFileError(this.path, code ?? String(e));
    }
    return { text, identity };
  }

  /**
   * The account IDs without decoding secrets (no key needed: a sealed file lists its IDs in
   * clear); [] when the file is missing or unreadable. For the embedded default config.
   */
  peekAccountIds(): string[] {
    try {
      const doc = JSON.parse(readFileSync(this.path, "utf8"));
      if (isSealedDoc(doc)) {
        return Array.isArray(doc.accounts) ? doc.accounts.filter((a) => typeof a === "string") : [];
      }
      if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return [];
      return Object.keys(doc).filter((k) => typeof doc[k] === "object" && doc[k] !== null);
    } catch {
      return [];
    }
  }

  /**
   * Like ssh with a private key: the file must be ours (or root's) and private. A loose mode on
   * our own file is fixed (0600) with a warning — it only ever held what ccmux wrote there —
   * and refused when it cannot be fixed.
   */
  #checkFile(fd: number, st: { mode: number; uid: number }): void {
    if (process.platform === "win32") return;
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
      throw new TokenFileError(
        this.path,
        `it belongs to another user (uid ${st.uid}); only its owner's ccmux may use it`,
      );
    }
    const mode = st.mode & 0o777;
    if ((mode & 0o077) === 0) return;
    try {
      fchmodSync(fd, 0o600);
    } catch {
      throw new TokenFileError(
        this.path,
        `it is accessible by others (mode ${octal(mode)}); run: chmod 600 ${this.path}`,
      );
    }
    this.#warn(
      `the token file ${this.path} was accessible by others (mode ${octal(mode)}); ` +
        "its mode is now 0600",
    );
  }

  /** The file's current identity (one stat); undefined when it does not exist. */
  // deno-lint-ignore require-await -- async so that errors arrive as rejections
  async identity(): Promise<FileIdentity | undefined> {
    try {
      return identityOf(statSync(this.path));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      throw new TokenFileError(this.path, code ?? String(e));
    }
  }

  /** One account's record, or undefined. */
  async get(id: string): Promise<TokenRecord | undefined> {
    const doc = await this.read();
    return Object.hasOwn(doc, id) ? doc[id] : undefined;
  }

  /**
   * Runs `fn` on the freshly read file while holding both locks, then writes the file back
   * atomically when `fn` changed it. `fn` may be async (a refresh holds the lock across its
   * network call so no other process spends the same refresh token).
   */
  update<T>(fn: (doc: TokenFile) => T | Promise<T>): Promise<T> {
    return this.#locked(async () => {
      const doc = await this.read();
      const before = JSON.stringify(doc);
      const result = await fn(doc);
      if (JSON.stringify(doc) !== before) {
        await this.#writeAtomic(await this.codec.encode(this.path, doc));
      }
      return result;
    });
  }

  /**
   * Rewrites the file in `target`'s format under both locks (`ccmux tokens migrate`), reading
   * it with whichever of `target` and `source` its current format is. "missing": no file;
   * "same": it already is in that format (and `target` could read it); "done": rewritten.
   */
  rewriteAs(target: TokenCodec, source: TokenCodec): Promise<"missing" | "same" | "done"> {
    return this.#locked(async () => {
      const raw = this.#readText();
      if (!raw) return "missing";
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.text);
      } catch {
        parsed = undefined; // the codec's decode names the error
      }
      const current = isSealedDoc(parsed) ? "encrypted" : "file";
      const from = current === target.format ? target : source;
      const doc = await from.decode(this.path, raw.text);
      if (from === target) return "same";
      await this.#writeAtomic(await target.encode(this.path, doc));
      return "done";
    });
  }

  /** Runs `fn` holding the in-process lock and the lock file (leftovers of dead writers gone). */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return withProcessLock(this.path, async () => {
      await ensureDir(dirname(this.path));
      checkFolder(this.path); // before the lock: another user must not be able to plant it
      const release = await acquireLockFile(this.lockPath, this.#lockTimeoutMs);
      try {
        await testHold("CCMUX_TEST_HOLD_LOCK_MS", "holding the token file lock");
        await this.#removeLeftovers();
        return await fn();
      } finally {
        await release();
      }
    });
  }

  /** Temp file in the same folder, fsync, rename over the file, fsync the folder. */
  async #writeAtomic(text: string): Promise<void> {
    const tmp = `${this.path}.${process.pid}.${randomHex(6)}.tmp`;
    const fh = await fsp.open(tmp, "wx", 0o600);
    try {
      try {
        await fh.chmod(0o600); // the mode given to open() is filtered by the umask
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await testHold("CCMUX_TEST_HOLD_WRITE_MS", "holding a written temp file before rename");
      await fsp.rename(tmp, this.path);
    } catch (e) {
      await fsp.unlink(tmp).catch(() => {});
      throw e;
    }
    await syncDir(dirname(this.path));
  }

  /** Deletes temp files of writers that died mid-write (they may hold secrets). */
  async #removeLeftovers(): Promise<void> {
    const base = basename(this.path).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`^${base}\\.(?:lock\\.(?:stale\\.)?)?(\\d+)\\.[0-9a-f]+(?:\\.tmp)?$`);
    let names: string[];
    try {
      names = await fsp.readdir(dirname(this.path));
    } catch {
      return;
    }
    for (const name of names) {
      const m = re.exec(name);
      if (!m || Number(m[1]) === process.pid) continue;
      const file = join(dirname(this.path), name);
      const st = await fsp.lstat(file).catch(() => undefined);
      // The writer named in the file name is gone (dead, or its PID now another process's).
      if (st && holderGone(Number(m[1]), st.mtimeMs)) await fsp.unlink(file).catch(() => {});
    }
  }
}

/**
 * What tells one version of the token file from another: writers replace it by rename (new
 * inode), and an in-place edit changes its mtime or size.
 */
export interface FileIdentity {
  mtimeMs: number;
  size: number;
  ino: number;
}

function identityOf(st: { mtimeMs: number; size: number; ino: number }): FileIdentity {
  return { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino };
}

/** True when both name the same version of the file (both undefined: both missing). */
export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  if (!a || !b) return a === b;
  return a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}

/**
 * Parses the file's text and checks that it is an object keyed by account ID. A malformed
 * account does not make the file unusable (accountProblem() tells it; the other accounts work
 * and `ccmux logout ID` removes it). Messages never quote the file's content.
 */
export function parseTokenFile(path: string, text: string): TokenFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TokenFileError(path, `not valid JSON (${safeJsonError(e)})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new TokenFileError(path, "expected a JSON object keyed by account ID");
  }
  return doc as TokenFile;
}

/**
 * What is wrong with one account's record (a value of the token file as read, which may be
 * anything), or undefined when ccmux can use it. Never quotes the record.
 */
export function accountProblem(rec: unknown): string | undefined {
  if (typeof rec !== "object" || rec === null || Array.isArray(rec)) return "it is not an object";
  const r = rec as Record<string, unknown>;
  if (typeof r.access_token !== "string") return "access_token is missing or not a string";
  for (const key of ["refresh_token", "expires_at", "kind", "provider_id"]) {
    if (r[key] !== undefined && r[key] !== null && typeof r[key] !== "string") {
      return `${key} is not a string`;
    }
  }
  if (r.scopes !== undefined && !Array.isArray(r.scopes)) return "scopes is not an array";
  return undefined;
}

// V8 quotes the source text in JSON errors ("… "{"access_token": "sk…" is not valid JSON"):
// keep the kind of error and its position, drop any quoted content.
function safeJsonError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const pos = /position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(msg);
  const kind = /^Unexpected end of JSON input/i.test(msg)
    ? "unexpected end of input"
    : /^Unexpected (token|non-whitespace character|string|number)/i.test(msg)
    ? "unexpected " + /^Unexpected (\S+(?: \S+)?)/i.exec(msg)![1].replace(/,$/, "")
    : "syntax error";
  if (!pos) return kind;
  return pos[2] ? `${kind} at line ${pos[2]} column ${pos[3]}` : `${kind} at byte ${pos[1]}`;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/**
 * Refuses a token file folder that another user could write (mode bits 022, even with the
 * sticky bit) or that belongs to another user (root excepted), as ssh refuses such a ~/.ssh:
 * whoever can write there can replace the token file or plant its lock and temp files.
 */
function checkFolder(path: string): void {
  if (process.platform === "win32") return;
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch {
    return; // missing: created 0700 on the first write
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new TokenFileError(
      path,
      `its folder ${dir} belongs to another user (uid ${st.uid}); keep the token file in a ` +
        "folder of your own",
    );
  }
  const mode = st.mode & 0o7777;
  if (mode & 0o022) {
    const who = (mode & 0o022) === 0o022 ? "group and others" : mode & 0o002 ? "others" : "group";
    throw new TokenFileError(
      path,
      `its folder ${dir} is writable by ${who} (mode ${octal(mode & 0o777)}), so another user ` +
        `could replace the token file or plant its lock; run: chmod 700 ${dir}`,
    );
  }
}

/** Creates the folder 0700 when missing (an existing one is left as it is). */
async function ensureDir(dir: string): Promise<void> {
  try {
    await fsp.stat(dir);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await fsp.chmod(dir, 0o700).catch(() => {});
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === "win32") return; // directories cannot be opened for fsync there
  const fh = await fsp.open(dir, "r").catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync().catch(() => {});
  } finally {
    await fh.close();
  }
}

/**
 * Test-only hook (documented in docs/SECURITY.md): with the named variable set to N, pause N ms
 * at this point after announcing it on stderr, so a test can SIGKILL the process there.
 */
async function testHold(variable: string, what: string): Promise<void> {
  const ms = Number(process.env[variable]);
  if (!Number.isFinite(ms) || ms <= 0) return;
  process.stderr.write(`ccmux-test: ${what} (pid ${process.pid})\n`);
  await new Promise((r) => setTimeout(r, ms));
}
