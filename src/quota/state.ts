// serve's state folder, $CCMUX_HOME/state/ (0700): quota.json (the last known quota windows per
// provider, and who is exhausted until when) and usage.json (the usage records), each 0600 and
// replaced atomically (temp file, fsync, rename). Read once at start; written by a timer at most
// every few seconds when something changed, and once more on shutdown — never on a request's
// path. Secret-free by construction: provider names, account ids, model names and numbers.
import { existsSync, readFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import type { ProviderQuota } from "./book.ts";
import type { QuotaWindow } from "./signals.ts";
import type { UsageRow } from "./usage.ts";

export const STATE_VERSION = 1;
/** How often the writer looks for changes to save. */
export const SAVE_EVERY_MS = 5000;

/** The state folder of a ccmux home. */
export function stateDir(home: string): string {
  return join(home, "state");
}

/** What the state folder holds, read back. */
export interface SavedState {
  quota: ProviderQuota[];
  usage: UsageRow[];
}

type Obj = Record<string, unknown>;

function readJson(path: string): Obj | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const v = JSON.parse(readFileSync(path, "utf8"));
    return typeof v === "object" && v !== null ? v as Obj : undefined;
  } catch {
    return undefined;
  }
}

const iso = (ms: number | undefined) =>
  ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();
const ms = (s: unknown) =>
  typeof s === "string" && Number.isFinite(Date.parse(s)) ? Date.parse(s) : undefined;

/** Reads the state folder (synchronously: at start only). Unreadable files count as empty. */
export function loadState(dir: string): SavedState & { problems: string[] } {
  const problems: string[] = [];
  const q = readJson(join(dir, "quota.json"));
  const u = readJson(join(dir, "usage.json"));
  if (existsSync(join(dir, "quota.json")) && !q) problems.push("quota.json is not valid JSON");
  if (existsSync(join(dir, "usage.json")) && !u) problems.push("usage.json is not valid JSON");
  const quota = Array.isArray(q?.providers) ? (q!.providers as Obj[]).map(quotaFromJson) : [];
  const usage = Array.isArray(u?.rows) ? (u!.rows as UsageRow[]).filter(validRow) : [];
  return { quota: quota.filter((x): x is ProviderQuota => x !== undefined), usage, problems };
}

function validRow(r: UsageRow): boolean {
  return typeof r === "object" && r !== null && typeof r.day === "string" &&
    typeof r.provider === "string" && typeof r.model === "string" &&
    typeof r.requests === "number";
}

/** The JSON shape of a provider's quota: times as RFC 3339 strings. */
export function quotaToJson(q: ProviderQuota): Obj {
  return {
    provider: q.provider,
    account: q.account,
    family: q.family,
    status: q.status,
    claim: q.claim,
    resets_at: iso(q.resets_at),
    windows: q.windows.map((w) => ({ ...w, resets_at: iso(w.resets_at) })),
    updated_at: iso(q.updated_at),
    exhausted_until: iso(q.exhausted?.until),
    exhausted_window: q.exhausted?.window,
  };
}

function quotaFromJson(o: Obj): ProviderQuota | undefined {
  if (typeof o?.provider !== "string") return undefined;
  const windows: QuotaWindow[] = Array.isArray(o.windows)
    ? (o.windows as Obj[]).filter((w) => typeof w?.name === "string").map((w) => {
      const out: QuotaWindow = { name: w.name as string };
      if (typeof w.utilization === "number") out.utilization = w.utilization;
      const r = ms(w.resets_at);
      if (r !== undefined) out.resets_at = r;
      if (typeof w.status === "string") out.status = w.status;
      if (typeof w.minutes === "number") out.minutes = w.minutes;
      return out;
    })
    : [];
  const q: ProviderQuota = { provider: o.provider, windows, updated_at: ms(o.updated_at) ?? 0 };
  if (typeof o.account === "string") q.account = o.account;
  if (o.family === "anthropic" || o.family === "codex") q.family = o.family;
  if (typeof o.status === "string") q.status = o.status;
  if (typeof o.claim === "string") q.claim = o.claim;
  const r = ms(o.resets_at);
  if (r !== undefined) q.resets_at = r;
  const until = ms(o.exhausted_until);
  if (until !== undefined) {
    q.exhausted = typeof o.exhausted_window === "string"
      ? { until, window: o.exhausted_window }
      : { until };
  }
  return q;
}

/** Creates `dir` (0700, also when it exists) and replaces `dir/name` with `text` atomically (0600). */
export async function writeAtomic(dir: string, name: string, text: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await fsp.chmod(dir, 0o700).catch(() => {});
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fh = await fsp.open(tmp, "wx", 0o600);
  try {
    await fh.chmod(0o600); // open()'s mode is filtered by the umask
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/** A versioned source of one state file. */
export interface StateSource {
  name: string;
  version(): number;
  json(): unknown;
}

/** Saves the sources whose version moved: every SAVE_EVERY_MS, and on `close()`. */
export class StateWriter {
  #saved = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly sources: StateSource[],
    readonly onError: (message: string) => void = () => {},
  ) {
    // What was loaded needs no saving.
    for (const s of sources) this.#saved.set(s.name, s.version());
  }

  start(everyMs = SAVE_EVERY_MS): void {
    this.#timer = setInterval(() => void this.flush(), everyMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Saves what changed (one save at a time). */
  flush(): Promise<void> {
    this.#running = this.#running.then(() => this.#save());
    return this.#running;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }

  async #save(): Promise<void> {
    for (const s of this.sources) {
      const v = s.version();
      if (this.#saved.get(s.name) === v) continue;
      try {
        await writeAtomic(this.dir, s.name, JSON.stringify(s.json(), null, 1) + "\n");
        this.#saved.set(s.name, v);
      } catch (e) {
        this.onError(`cannot save ${join(this.dir, s.name)}: ${(e as Error).message}`);
      }
    }
  }
}
