// Cross-process lock file holding its holder's PID (format and rules: docs/SECURITY.md, "Token
// file").
//
// Why link(): a lock created with `open(wx)` and then filled with the PID is visible empty for
// a moment, and a reader cannot tell "being written" from "holder died before writing". Writing
// the PID to a private temp file and link()ing it into place makes the lock appear complete or
// not at all. The file holds the PID alone, as it always has, so every ccmux version reads it
// alike; the lock's mtime records when it was taken. A lock is stale when its holder's PID is
// gone (kill(pid, 0) → ESRCH; any other answer, such as EPERM or a sandbox refusing the call,
// counts as alive), when that PID now belongs to a process that started after the lock was
// taken (Linux: /proc/PID/stat, so a PID reused after a reboot or container restart is seen),
// or when the lock is older than any holder can be (elsewhere, where start times are unknown).
import { promises as fsp, readFileSync } from "node:fs";
import process from "node:process";

/** A live holder kept the lock longer than the wait allows. */
export class LockTimeoutError extends Error {
  constructor(readonly lockPath: string, readonly holderPid: number, waitedMs: number) {
    super(
      `the token file is locked by process ${holderPid} (${lockPath}); gave up after ${
        Math.round(waitedMs / 1000)
      } s`,
    );
    this.name = "LockTimeoutError";
  }
}

/** Something that is not a lock ccmux wrote sits at the lock path (or belongs to another user). */
export class LockFileError extends Error {
  constructor(readonly lockPath: string, detail: string) {
    super(`cannot lock the token file: ${lockPath} ${detail}`);
    this.name = "LockFileError";
  }
}

/** Default wait for a live holder: 30 s; `CCMUX_LOCK_TIMEOUT_MS` overrides it (tests). */
export function defaultLockTimeoutMs(): number {
  const v = Number(process.env.CCMUX_LOCK_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 30_000;
}

/** True unless the OS says no process has this PID. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/** What a lock file says about its holder. */
interface Holder {
  /** Undefined when the file names no PID (never written by ccmux). */
  pid?: number;
  ino: number;
  /** When the lock was taken (its temp file was written just before the link()). */
  mtimeMs: number;
}

/** The holder a lock file names, or undefined when there is no lock file. */
async function readHolder(lockPath: string): Promise<Holder | undefined> {
  try {
    // lstat: a symbolic link at the lock path is not a lock (stat would follow it, and a
    // dangling one would look like a lock released a moment ago, forever).
    const st = await fsp.lstat(lockPath);
    if (st.isSymbolicLink()) {
      throw new LockFileError(
        lockPath,
        "is a symbolic link, not a lock ccmux wrote; remove it if no ccmux command is running",
      );
    }
    if (!st.isFile()) throw new LockFileError(lockPath, "is not a regular file; remove it");
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new LockFileError(
        lockPath,
        `belongs to another user (uid ${st.uid}); remove it, and keep the folder writable ` +
          "only by you",
      );
    }
    const text = await fsp.readFile(lockPath, "utf8");
    const pid = Number(text.trim());
    return {
      pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
      ino: st.ino,
      mtimeMs: st.mtimeMs,
    };
  } catch (e) {
    if (errCode(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** No ccmux holds the lock longer: a refresh's network call gives up after 30 s. */
export const MAX_LOCK_AGE_MS = 10 * 60_000;
/** Clock granularity between a lock's mtime and a process start time computed from /proc. */
const START_SLACK_MS = 2_000;

/**
 * When the process with this PID started (ms since the epoch), from /proc/PID/stat's start
 * time (clock ticks since boot; USER_HZ is 100 on Linux) and /proc/uptime. Undefined where
 * there is no /proc (macOS, Windows, a sandbox) or no such process.
 */
export function processStartMs(pid: number): number | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]); // field 22, starttime
    const uptimeS = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    if (!Number.isFinite(ticks) || !Number.isFinite(uptimeS)) return undefined;
    return Date.now() - uptimeS * 1000 + ticks * 10;
  } catch {
    return undefined;
  }
}

/**
 * True when the process that wrote a lock (or temp file) named `pid` at `mtimeMs` cannot be
 * running any more: no process has the PID, the PID belongs to a process that started after
 * the file was written (a reused PID), or — where start times are unknown — the file is older
 * than MAX_LOCK_AGE_MS.
 */
export function holderGone(
  pid: number,
  mtimeMs: number,
  opts: { now?: number; startMs?: (pid: number) => number | undefined } = {},
): boolean {
  if (!pidAlive(pid)) return true;
  const started = (opts.startMs ?? processStartMs)(pid);
  if (started !== undefined) return started > mtimeMs + START_SLACK_MS;
  return (opts.now ?? Date.now()) - mtimeMs > MAX_LOCK_AGE_MS;
}

/**
 * Removes a stale lock without removing a live one that replaced it meanwhile: the lock is
 * first renamed aside (atomic), then checked to be the very file judged stale (same inode and
 * PID); anything else is put back.
 */
async function breakStale(lockPath: string, seen: Holder): Promise<void> {
  const aside = `${lockPath}.stale.${process.pid}.${randomHex(4)}`;
  try {
    await fsp.rename(lockPath, aside);
  } catch (e) {
    if (errCode(e) === "ENOENT") return;
    throw e;
  }
  const moved = await readHolder(aside).catch(() => undefined);
  if (moved && (moved.ino !== seen.ino || moved.pid !== seen.pid)) {
    // A live holder's lock: put it back unless someone already took the free slot.
    await fsp.link(aside, lockPath).catch(() => {});
  }
  await fsp.unlink(aside).catch(() => {});
}

/**
 * Takes the lock at `lockPath`, waiting up to `timeoutMs` for a live holder. Returns the
 * release function. Call it only under `withProcessLock(lockPath, …)`: the PID is the same for
 * every caller in one process, so a lock naming our own PID is taken as stale.
 */
export async function acquireLockFile(
  lockPath: string,
  timeoutMs = defaultLockTimeoutMs(),
): Promise<() => Promise<void>> {
  const tmp = `${lockPath}.${process.pid}.${randomHex(6)}.tmp`;
  const fh = await fsp.open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(`${process.pid}\n`);
  } finally {
    await fh.close();
  }
  const started = Date.now();
  let delay = 10;
  try {
    for (;;) {
      try {
        await fsp.link(tmp, lockPath);
        break;
      } catch (e) {
        if (errCode(e) !== "EEXIST") throw e;
      }
      const holder = await readHolder(lockPath);
      // Our own PID on the lock is a leftover of an earlier process that had this PID (a
      // restarted container's PID 1): callers hold the in-process lock for this path, so no
      // live holder in this process can exist.
      if (
        holder &&
        (holder.pid === undefined || holder.pid === process.pid ||
          holderGone(holder.pid, holder.mtimeMs))
      ) {
        await breakStale(lockPath, holder);
        continue;
      }
      // A live holder, or a lock released between link() and the read (retried after the
      // same short delay, never in a tight loop: the timeout holds whatever happens).
      const waited = Date.now() - started;
      if (waited >= timeoutMs) {
        if (holder?.pid) throw new LockTimeoutError(lockPath, holder.pid, waited);
        throw new LockFileError(
          lockPath,
          `could not be taken within ${Math.round(waited / 1000)} s (it keeps changing)`,
        );
      }
      await sleep(Math.min(delay, timeoutMs - waited));
      delay = Math.min(delay * 2, 100);
    }
  } finally {
    await fsp.unlink(tmp).catch(() => {});
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    // Only remove the lock if it is still ours (a stale-breaker may have misjudged us).
    const holder = await readHolder(lockPath).catch(() => undefined);
    if (holder?.pid === process.pid) await fsp.unlink(lockPath).catch(() => {});
  };
}

/** In-process async mutex per key: a promise chain; each waiter runs after the previous one. */
const chains = new Map<string, Promise<unknown>>();

export async function withProcessLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = chains.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = prev.then(() => mine);
  chains.set(key, tail);
  await prev.catch(() => {});
  try {
    return await fn();
  } finally {
    done();
    if (chains.get(key) === tail) chains.delete(key);
  }
}

/**
 * `n` random bytes as lowercase hex, for temp file names. Web Crypto rather than node:crypto:
 * loading node:crypto costs `ccmux token` ~2 ms at start, and only writers need this.
 */
export function randomHex(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
