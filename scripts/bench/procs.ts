// Child processes of the benchmark: start, wait for /health, read CPU time and RSS from /proc,
// stop. Every measured process is a direct child (no npx or shell in between), so its PID is
// the process whose /proc/PID/stat is read.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import process from "node:process";

export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  port: number;
  log: string;
  /** Milliseconds from spawn to the first 200 from /health. */
  startupMs: number;
}

export interface StartSpec {
  name: string;
  cmd: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd?: string;
  port: number;
  log: string;
  healthTimeoutMs?: number;
}

/** A free TCP port on 127.0.0.1 (bound and released; fine for a benchmark on a quiet box). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** GET /health on a fresh connection; the status, or 0 when nothing answers. */
export function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/health", agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", () => resolve(0));
      },
    );
    req.on("error", () => resolve(0));
    req.on("timeout", () => {
      req.destroy();
      resolve(0);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Environment without the caller's credentials or ccmux settings. */
export function cleanEnv(extra: Record<string, string | undefined> = {}) {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(ANTHROPIC_|CCMUX_|OPENAI_|NODE_OPTIONS$)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Every child still running, so a failed or interrupted run leaves none behind. */
const live = new Set<ChildProcess>();

/** Kills (by PID, SIGKILL) every child this harness started that is still running. */
export function killAll(): void {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  live.clear();
}

/** Starts a process (stdout and stderr to its log file) and waits for its first /health 200. */
export async function startProc(spec: StartSpec): Promise<Proc> {
  const fd = openSync(spec.log, "a");
  const t0 = performance.now();
  const child = spawn(spec.cmd, spec.args, {
    cwd: spec.cwd,
    env: spec.env as NodeJS.ProcessEnv,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  live.add(child);
  child.on("exit", () => live.delete(child));
  let exited: string | undefined;
  child.on("exit", (code, sig) => exited = `exited (${sig ?? code})`);
  child.on("error", (e) => exited = `failed to spawn: ${e.message}`);
  const deadline = t0 + (spec.healthTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) throw new Error(`${spec.name} ${exited} before /health answered; see ${spec.log}`);
    if ((await healthStatus(spec.port)) === 200) break;
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${spec.name}: no /health within ${spec.healthTimeoutMs ?? 30_000} ms`);
    }
    await sleep(5);
  }
  const startupMs = performance.now() - t0;
  return { name: spec.name, child, pid: child.pid!, port: spec.port, log: spec.log, startupMs };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export function stopProc(p: { child: ChildProcess }, graceMs = 15_000): Promise<void> {
  const child = p.child;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** utime + stime of a process, in clock ticks (all its threads: JS, GC, libuv). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the comm: state is f[0], so utime (field 14) is f[11], stime f[12].
  return Number(f[11]) + Number(f[12]);
}

/** VmRSS and VmHWM (peak) in MiB. */
export function memMiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? NaN);
  return { rss: kib("VmRSS") / 1024, hwm: kib("VmHWM") / 1024 };
}

export { sleep };
