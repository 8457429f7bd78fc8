// Cross-process lock file holding its holder's PID (CONTRACT §4).
//
// Why link(): a lock created with `open(wx)` and then filled with the PID is visible empty for
// a moment, and a reader cannot tell "being written" from "holder died before writing". Writing
// the PID to a private temp file and link()ing it into place makes the lock appear complete or
// not at all. A lock is stale only when its holder's PID is gone (kill(pid, 0) → ESRCH); any
// other answer (EPERM, a sandbox refusing the call) counts as alive.
import { promises as fsp } from "node:fs";
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

/** The PID a lock file names, or undefined when it names none (never written by ccmux). */
async function readHolder(lockPath: string): Promise<{ pid?: number; ino: number } | undefined> {
  try {
    const st = await fsp.stat(lockPath);
    const text = await fsp.readFile(lockPath, "utf8");
    const pid = Number(text.trim());
    return { pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, ino: st.ino };
  } catch (e) {
    if (errCode(e) === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Removes a stale lock without removing a live one that replaced it meanwhile: the lock is
 * first renamed aside (atomic), then checked to be the very file judged stale (same inode and
 * PID); anything else is put back.
 */
async function breakStale(lockPath: string, seen: { pid?: number; ino: number }): Promise<void> {
  const aside = `${lockPath}.stale.${process.pid}.${randomHex(4)}`;
  try {
    await fsp.rename(lockPath, aside);
  } catch (e) {
    if (errCode(e) === "ENOENT") return;
    throw e;
  }
  const moved = await readHolder(aside);
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
      if (!holder) continue; // released between link() and the read: try again at once
      // Our own PID on the lock is a leftover of an earlier process that had this PID (a
      // restarted container's PID 1): callers hold the in-process lock for this path, so no
      // live holder in this process can exist.
      if (holder.pid === undefined || holder.pid === process.pid || !pidAlive(holder.pid)) {
        await breakStale(lockPath, holder);
        continue;
      }
      const waited = Date.now() - started;
      if (waited >= timeoutMs) throw new LockTimeoutError(lockPath, holder.pid, waited);
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
