// Runs the real CLI as a child process on the runtime the tests run on (deno or node+tsx).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import process from "node:process";
import { isDeno } from "../../src/runtime/info.ts";

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = join(ROOT, "main.ts");

/** argv that starts `ccmux` on this runtime: [command, ...args]. */
export function cliCommand(): [string, string[]] {
  if (process.env.CCMUX_TEST_BIN) return [process.env.CCMUX_TEST_BIN, []];
  if (isDeno) return [process.execPath, ["run", "-A", "--quiet", MAIN]];
  const loader = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
  return [process.execPath, ["--import", loader, MAIN]];
}

/** A fresh temp folder, removed by the returned cleanup function. */
export function tempHome(prefix = "ccmux-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A minimal environment: no user config, no API keys from the developer's shell. */
export function baseEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    CCMUX_HOME: home,
    NO_COLOR: "1",
    ...extra,
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env: Record<string, string>;
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
}

/** Runs `ccmux ...args` to completion. */
export function runCli(args: string[], opts: RunOptions): Promise<CliResult> {
  const child = startCli(args, opts);
  if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  else child.stdin!.end();
  return collect(child, opts.timeoutMs ?? 30_000);
}

/** Starts `ccmux ...args` and returns the child (stdin left open). */
export function startCli(args: string[], opts: RunOptions): ChildProcess {
  const [cmd, pre] = cliCommand();
  return spawn(cmd, [...pre, ...args], {
    env: opts.env,
    cwd: opts.cwd ?? ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Waits for a started child to exit and returns what it printed. */
export function collect(child: ChildProcess, timeoutMs = 30_000): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`ccmux timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves with the first line of `stream` output that matches `re` (and all text so far). */
export function waitForLine(
  child: ChildProcess,
  re: RegExp,
  timeoutMs = 20_000,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off("data", onData);
        resolve(m);
      }
    };
    const timer = setTimeout(() => {
      child.stderr!.off("data", onData);
      reject(new Error(`no line matching ${re} within ${timeoutMs} ms; stderr so far:\n${buf}`));
    }, timeoutMs);
    child.stderr!.on("data", onData);
    child.on("close", () => {
      clearTimeout(timer);
      if (!re.test(buf)) reject(new Error(`exited before ${re}; stderr:\n${buf}`));
    });
  });
}
