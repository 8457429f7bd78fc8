// The load driver: wrk (keep-alive, one thread, a Lua script that POSTs a file's bytes), or the
// Node fallback driver when wrk cannot be had. Both print one BENCH_RESULT JSON line.
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";

export interface LoadResult {
  requests: number;
  duration_us: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p99_us: number;
  mean_us: number;
  max_us: number;
}

export interface LoadSpec {
  url: string;
  bodyFile: string;
  headersFile: string;
  conns: number;
  durationS: number;
}

export type Driver = { kind: "wrk"; version: string } | { kind: "node"; reason: string };

function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** wrk if present; else installs the Debian package when root with apt-get; else the Node driver. */
export function pickDriver(log: (s: string) => void): Driver {
  if (process.env.BENCH_DRIVER === "node") return { kind: "node", reason: "BENCH_DRIVER=node" };
  if (!has("wrk") && has("apt-get") && process.getuid?.() === 0) {
    log("wrk not found: installing the Debian package (apt-get install -y wrk)");
    try {
      execFileSync("apt-get", ["install", "-y", "-q", "wrk"], { stdio: "ignore" });
    } catch {
      try {
        execFileSync("apt-get", ["update", "-q"], { stdio: "ignore" });
        execFileSync("apt-get", ["install", "-y", "-q", "wrk"], { stdio: "ignore" });
      } catch { /* reported below */ }
    }
  }
  if (has("wrk")) {
    let version = "wrk";
    try {
      version = execFileSync("wrk", ["-v"], { encoding: "utf8" }).split("\n")[0].trim();
    } catch (e) {
      // wrk -v exits 1 after printing its version.
      const out = (e as { stdout?: string }).stdout ?? "";
      version = String(out).split("\n")[0].trim() || "wrk";
    }
    return { kind: "wrk", version };
  }
  const reason = process.getuid?.() === 0
    ? "wrk is not installed and apt-get could not install it"
    : "wrk is not installed (run `sudo apt-get install wrk` for lower driver overhead)";
  log(`${reason}; using the Node load driver instead`);
  return { kind: "node", reason };
}

const HERE = import.meta.dirname ?? new URL(".", import.meta.url).pathname;

/** Runs one load; resolves with the driver's result. */
export function runLoad(driver: Driver, spec: LoadSpec): Promise<LoadResult> {
  const env = {
    ...process.env,
    BENCH_URL: spec.url,
    BENCH_BODY_FILE: spec.bodyFile,
    BENCH_HEADERS_FILE: spec.headersFile,
    BENCH_CONNS: String(spec.conns),
    BENCH_DURATION_S: String(spec.durationS),
  };
  const [cmd, args] = driver.kind === "wrk"
    ? [
      "wrk",
      [
        "-t1",
        `-c${spec.conns}`,
        `-d${spec.durationS}s`,
        "--timeout",
        "10s",
        "-s",
        join(HERE, "post.lua"),
        spec.url,
      ],
    ]
    : [process.execPath, [join(HERE, "node_driver.mjs")]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, args as string[], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c) => out += c);
    child.stderr.on("data", (c) => out += c);
    child.on("error", reject);
    child.on("exit", () => {
      const m = /BENCH_RESULT (\{.*\})/.exec(out);
      if (!m) return reject(new Error(`load driver gave no result: ${out.slice(0, 500)}`));
      resolve(JSON.parse(m[1]) as LoadResult);
    });
  });
}

export function errorsOf(r: LoadResult): number {
  return r.connect + r.read + r.write + r.status + r.timeout;
}
