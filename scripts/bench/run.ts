// `npm run bench`: the whole benchmark in one run, writing docs/BENCHMARKS.md.
//
// Env: BENCH_QUICK=1 (one short round), BENCH_ROUNDS, BENCH_DURATION_S (per cell, integer),
// BENCH_DRIVER=node (skip wrk), BENCH_NO_BUILD=1, BENCH_NO_CCR=1, BENCH_NO_DENO=1,
// BENCH_NO_PROFILE=1, BENCH_ONLY=name,name (only these proxies, plus direct and node-floor,
// in the grid and the profiles: for a smoke run of some rows),
// BENCH_OUT (markdown path; default docs/BENCHMARKS.md).
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { CCR_EXIT_NOTE, CCR_VERSION, installCcr } from "./ccr.ts";
import { type Driver, errorsOf, pickDriver, runLoad } from "./load.ts";
import { runProfiles } from "./profile_run.ts";
import {
  ccmuxDenoSpec,
  ccmuxNodeSpec,
  ccrSpec,
  CODEX_ACCOUNT,
  CODEX_TOKEN,
  floorSpec,
  type Paths,
  type ProxyDef,
} from "./proxies.ts";
import {
  CLK_TCK,
  cpuTicks,
  freePort,
  healthStatus,
  killAll,
  memMiB,
  type Proc,
  sleep,
  startProc,
  stopProc,
} from "./procs.ts";
import { aggregate, targets, writeReport } from "./report.ts";
import { benchRequest, type Size } from "./requests.ts";
import type { Cell, Results } from "./results.ts";
import { streamCheck } from "./stream_check.ts";
import { measureStartup, measureToken } from "./timing.ts";

const env = process.env;
const QUICK = env.BENCH_QUICK === "1";
const ROUNDS = Number(env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const DURATION_S = Math.max(1, Math.round(Number(env.BENCH_DURATION_S ?? (QUICK ? 1 : 2))));
const STARTS = QUICK ? 3 : 7;
const TOKEN_RUNS = QUICK ? 5 : 15;
const GAP_MS = 150;
const SLOW_EVENTS = 5;

/** BENCH_ONLY: the proxies to run (direct and node-floor always run: the ratios need them). */
const ONLY = env.BENCH_ONLY
  ? new Set(["direct", "node-floor", ...env.BENCH_ONLY.split(",")])
  : null;

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? "").trim() || "unavailable";
  }
}

/** One request through a proxy: is the answer the stub's, in the expected shape? */
function precheck(port: number, size: Size, stream: boolean): Promise<string | null> {
  const r = benchRequest(size, stream);
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: r.path,
        method: "POST",
        agent: false,
        headers: { ...r.headers, "content-length": Buffer.byteLength(r.body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => text += c);
        res.on("end", () => {
          if (res.statusCode !== 200) {
            return resolve(`status ${res.statusCode}: ${text.slice(0, 300)}`);
          }
          if (!text.includes("benchmark stub")) {
            return resolve(`unexpected body: ${text.slice(0, 300)}`);
          }
          if (stream && !text.includes("message_stop")) {
            return resolve("stream without message_stop");
          }
          if (!stream) {
            try {
              if (JSON.parse(text).type !== "message") return resolve("JSON is not a message");
            } catch {
              return resolve(`not JSON: ${text.slice(0, 200)}`);
            }
          }
          resolve(null);
        });
      },
    );
    req.on("error", (e) => resolve(e.message));
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    req.end(r.body);
  });
}

/** How many connections the stub has accepted (this query's own included). */
function stubConnections(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/bench-stats", agent: false, timeout: 5000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => text += c);
        res.on("end", () => {
          try {
            resolve(Number(JSON.parse(text).connections));
          } catch {
            resolve(NaN);
          }
        });
      },
    );
    req.on("error", () => resolve(NaN));
    req.on("timeout", () => req.destroy());
  });
}

async function main() {
  const started = new Date();
  const t0 = performance.now();
  const tmp = join(ROOT, ".bench-tmp", `run-${started.toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(tmp, { recursive: true });
  // Keep the last few runs' folders (results.json, logs, profiles); drop older ones.
  const runs = readdirSync(join(ROOT, ".bench-tmp")).filter((d) => d.startsWith("run-")).sort();
  for (const old of runs.slice(0, -5)) {
    rmSync(join(ROOT, ".bench-tmp", old), { recursive: true, force: true });
  }
  log(`work folder ${tmp}`);
  const driver: Driver = pickDriver(log);
  log(`load driver: ${driver.kind === "wrk" ? driver.version : `node (${driver.reason})`}`);

  const noDeno = env.BENCH_NO_DENO === "1";
  const denoBin = join(ROOT, "node_modules", "deno", "deno");
  const results: Results = {
    date: started.toISOString(),
    quick: QUICK,
    rounds: ROUNDS,
    durationS: DURATION_S,
    machine: {
      cpu: os.cpus()[0]?.model ?? "unknown",
      cores: os.cpus().length,
      kernel: `${os.type()} ${os.release()}`,
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      loadStart: os.loadavg()[0],
      node: process.version,
      deno: sh(denoBin, ["--version"]).split("\n")[0],
      driver: driver.kind === "wrk"
        ? `${driver.version} (-t1, keep-alive, Lua POST script)`
        : `Node driver (${driver.reason})`,
      commit: sh("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]),
    },
    unavailable: {},
    proxies: [],
    cells: [],
    mem: {},
    startup: [],
    token: [],
    streaming: [],
    profiles: [],
    notes: [],
    restarts: {},
  };

  if (env.BENCH_NO_BUILD !== "1") {
    log("npm run build");
    try {
      execFileSync("npm", ["run", "-s", "build"], {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "inherit"],
      });
    } catch (e) {
      results.notes.push(`npm run build failed: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  let ccrCli: string | undefined;
  if (env.BENCH_NO_CCR !== "1") {
    try {
      ccrCli = installCcr(join(ROOT, ".bench-tmp", `ccr-${CCR_VERSION}`), log);
    } catch (e) {
      results.unavailable["ccr"] = `install failed: ${(e as Error).message.split("\n")[0]}`;
    }
  }

  // Bodies and headers as files for the load driver.
  const sizes: Size[] = ["small", "large"];
  const files = new Map<string, { body: string; headers: string; path: string }>();
  for (const size of sizes) {
    for (const stream of [false, true]) {
      const r = benchRequest(size, stream);
      const k = `${size}-${stream ? "stream" : "json"}`;
      const body = join(tmp, `${k}.json`);
      const headers = join(tmp, `${k}.headers`);
      writeFileSync(body, r.body);
      writeFileSync(
        headers,
        Object.entries(r.headers).map(([n, v]) => `${n}: ${v}`).join("\n") + "\n",
      );
      files.set(k, { body, headers, path: r.path });
    }
  }
  results.notes.push(
    `Request bodies: small ${benchRequest("small", false).body.length} B, large ${
      benchRequest("large", false).body.length
    } B.`,
  );

  // The stub upstream, its own process.
  const stubPort = await freePort();
  const stub = await startProc({
    name: "stub",
    cmd: process.execPath,
    args: [join(ROOT, "scripts", "bench", "stub_upstream.mjs"), String(stubPort)],
    env: {
      ...env,
      BENCH_SLOW_GAP_MS: String(GAP_MS),
      BENCH_CODEX_TOKEN: CODEX_TOKEN,
      BENCH_CODEX_ACCOUNT: CODEX_ACCOUNT,
    },
    port: stubPort,
    log: join(tmp, "stub.log"),
  });
  const paths: Paths = { root: ROOT, tmp, stubPort, ccrCli };

  const defs: ProxyDef[] = [
    { name: "direct", spec: null, grid: true },
    { name: "node-floor", spec: (p) => floorSpec(paths, p), grid: true },
    {
      name: "ccmux-apikey",
      spec: (p) => ccmuxNodeSpec(paths, "ccmux-apikey", "apikey", p),
      grid: true,
    },
    {
      name: "ccmux-oauth",
      spec: (p) => ccmuxNodeSpec(paths, "ccmux-oauth", "oauth", p),
      grid: true,
    },
    {
      name: "ccmux-openai",
      spec: (p) => ccmuxNodeSpec(paths, "ccmux-openai", "openai", p),
      grid: true,
    },
    {
      name: "ccmux-codex",
      spec: (p) => ccmuxNodeSpec(paths, "ccmux-codex", "codex", p),
      grid: true,
    },
    {
      name: "ccmux-responses",
      spec: (p) => ccmuxNodeSpec(paths, "ccmux-responses", "responses", p),
      grid: true,
    },
  ];
  if (!noDeno) {
    defs.push({
      name: "ccmux-deno",
      spec: (p) => ccmuxDenoSpec(paths, "ccmux-deno", p),
      grid: env.BENCH_DENO_GRID !== "0",
    });
  }
  if (ccrCli) defs.push({ name: "ccr", spec: (p) => ccrSpec(paths, p), grid: true });
  if (ONLY) {
    for (let i = defs.length - 1; i >= 0; i--) if (!ONLY.has(defs[i].name)) defs.splice(i, 1);
    results.notes.push(`BENCH_ONLY: only ${defs.map((d) => d.name).join(", ")} were run.`);
  }

  const running = new Map<string, Proc | null>();
  for (const d of defs) {
    if (!d.spec) {
      running.set(d.name, null);
      continue;
    }
    try {
      const p = await startProc(d.spec(await freePort()));
      running.set(d.name, p);
      log(`${d.name} up on :${p.port} (pid ${p.pid}, ${p.startupMs.toFixed(0)} ms)`);
    } catch (e) {
      results.unavailable[d.name] = (e as Error).message;
      log(`${d.name} unavailable: ${(e as Error).message}`);
    }
  }
  const portOf = (name: string) => name === "direct" ? stubPort : running.get(name)!.port;
  await sleep(1000);
  for (const [name, p] of running) {
    if (p) results.mem[name] = { idle: memMiB(p.pid).rss, peak: NaN, end: NaN };
  }

  // Prechecks: every proxy must return the stub's answer for every request kind.
  const live = defs.filter((d) => running.has(d.name));
  const bad = new Set<string>();
  for (const d of live) {
    for (const size of sizes) {
      for (const stream of [false, true]) {
        const err = await precheck(portOf(d.name), size, stream);
        if (err) {
          bad.add(`${d.name}/${size}/${stream}`);
          results.notes.push(
            `${d.name} ${size} ${stream ? "stream" : "JSON"}: precheck failed: ${err}`,
          );
          log(`${d.name} ${size} ${stream ? "stream" : "json"} precheck failed: ${err}`);
        }
      }
    }
  }
  results.proxies = live.map((d) => d.name);

  const grid = live.filter((d) => d.grid);
  const cellsSpec: { size: Size; stream: boolean; conns: number }[] = [];
  for (const size of sizes) {
    for (const stream of [false, true]) {
      for (const conns of [1, 16]) cellsSpec.push({ size, stream, conns });
    }
  }
  const peaks = new Map<string, number>();
  const restarts = new Map<string, number>();
  const exitReasons: string[] = [];
  const notePeak = (name: string, pid: number) => {
    try {
      peaks.set(name, Math.max(peaks.get(name) ?? 0, memMiB(pid).hwm));
    } catch { /* exited */ }
  };
  // A proxy that dies under load (ccr 1.0.73 exits when a client drops a large stream, which
  // wrk does to its in-flight requests when its time is up) is restarted on the same port and
  // warmed up with the Node driver, whose end is graceful. CPU time is polled every 50 ms so a
  // cell whose proxy exited at its very end keeps its CPU figure (at most 50 ms short).
  const restart = async (name: string) => {
    const old = running.get(name)!;
    const def = defs.find((d) => d.name === name)!;
    // A process that still runs but does not answer is stopped first (by its PID), so two
    // never share the port.
    await stopProc(old, 2000);
    const how = old.child.signalCode ?? `code ${old.child.exitCode}`;
    const why = `${name} (pid ${old.pid}) ended with ${how}`;
    log(why);
    exitReasons.push(why);
    restarts.set(name, (restarts.get(name) ?? 0) + 1);
    if ((restarts.get(name) ?? 0) > 40) throw new Error("exited more than 40 times");
    const p = await startProc(def.spec!(old.port));
    running.set(name, p);
    for (const size of sizes) {
      for (const stream of [false, true]) {
        const f = files.get(`${size}-${stream ? "stream" : "json"}`)!;
        await runLoad({ kind: "node", reason: "graceful warm-up after a restart" }, {
          url: `http://127.0.0.1:${p.port}${f.path}`,
          bodyFile: f.body,
          headersFile: f.headers,
          conns: 4,
          durationS: 1,
        });
      }
    }
  };
  const alive = (p: Proc) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return false;
    try {
      cpuTicks(p.pid);
      return true;
    } catch {
      return false;
    }
  };
  const measure = async (name: string, size: Size, stream: boolean, conns: number, dur: number) => {
    const f = files.get(`${size}-${stream ? "stream" : "json"}`)!;
    const before = running.get(name);
    if (before) {
      // It may have died after the previous cell had ended (e.g. while its upstream call
      // finished). A slow /health on a busy machine is asked again before giving up on it.
      let ok = alive(before) && (await healthStatus(before.port)) === 200;
      for (let i = 0; !ok && alive(before) && i < 5; i++) {
        await sleep(500);
        ok = (await healthStatus(before.port)) === 200;
      }
      if (!ok) {
        log(`${name} is gone or not answering after its previous load; restarting it`);
        await restart(name);
      }
    }
    const p = running.get(name);
    const c0 = p ? cpuTicks(p.pid) : 0;
    const s0 = cpuTicks(stub.pid);
    const n0 = await stubConnections(stubPort);
    let last = c0;
    const poll = p
      ? setInterval(() => {
        try {
          last = cpuTicks(p.pid);
          notePeak(name, p.pid);
        } catch { /* exited; keep the last reading */ }
      }, 50)
      : undefined;
    let r;
    try {
      r = await runLoad(driver, {
        url: `http://127.0.0.1:${portOf(name)}${f.path}`,
        bodyFile: f.body,
        headersFile: f.headers,
        conns,
        durationS: dur,
      });
    } finally {
      clearInterval(poll);
    }
    let died = false;
    if (p) {
      await sleep(100);
      try {
        last = cpuTicks(p.pid);
        notePeak(name, p.pid);
      } catch {
        died = true;
      }
      if (p.child.exitCode !== null || p.child.signalCode !== null) died = true;
      else if ((await healthStatus(p.port)) !== 200) died = true;
    }
    const s1 = cpuTicks(stub.pid);
    // Less the second stats query's own connection.
    const newConns = (await stubConnections(stubPort)) - n0 - 1;
    if (died) {
      log(`${name} exited after ${size} ${stream ? "stream" : "json"} c=${conns}; restarting it`);
      await restart(name);
    }
    return {
      r,
      died,
      cpuUs: p ? ((last - c0) * 1e6) / CLK_TCK : NaN,
      stubUs: ((s1 - s0) * 1e6) / CLK_TCK,
      newConns,
    };
  };

  // Warm-up: JIT and connection pools, one short c=16 load per proxy and request kind.
  log("warm-up");
  for (const d of grid) {
    for (const size of sizes) {
      for (const stream of [false, true]) {
        if (bad.has(`${d.name}/${size}/${stream}`) || results.unavailable[d.name]) continue;
        await measure(d.name, size, stream, 16, 1).catch((e) => {
          results.unavailable[d.name] = `failed in warm-up: ${(e as Error).message}`;
          log(`${d.name} ${results.unavailable[d.name]}`);
        });
      }
    }
  }

  const total = ROUNDS * cellsSpec.length * grid.length;
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const cs of cellsSpec) {
      // Interleaved (A B C D ...), rotated each round so no proxy always runs first.
      const order = grid.map((_, i) => grid[(i + round) % grid.length]);
      for (const d of order) {
        n++;
        if (bad.has(`${d.name}/${cs.size}/${cs.stream}`) || results.unavailable[d.name]) continue;
        let m;
        try {
          m = await measure(d.name, cs.size, cs.stream, cs.conns, DURATION_S);
        } catch (e) {
          // A proxy that cannot be measured any more is reported; the run goes on without it.
          results.unavailable[d.name] =
            `failed during ${cs.size} ${cs.stream ? "stream" : "JSON"} ` +
            `c=${cs.conns} (round ${round + 1}): ${(e as Error).message}`;
          log(results.unavailable[d.name]);
          continue;
        }
        const { r, cpuUs, stubUs, died, newConns } = m;
        const cell: Cell = {
          round,
          proxy: d.name,
          size: cs.size,
          stream: cs.stream,
          conns: cs.conns,
          requests: r.requests,
          rps: r.requests / (r.duration_us / 1e6),
          p50Ms: r.p50_us / 1000,
          p99Ms: r.p99_us / 1000,
          cpuUsPerReq: r.requests ? cpuUs / r.requests : NaN,
          stubCpuUsPerReq: r.requests ? stubUs / r.requests : NaN,
          // For direct the stub's connections are the driver's own, not a proxy's.
          upstreamConnsPerReq: d.name !== "direct" && r.requests ? newConns / r.requests : NaN,
          errors: errorsOf(r),
          exited: died,
        };
        results.cells.push(cell);
        log(
          `[${n}/${total}] r${round} ${d.name} ${cs.size} ${
            cs.stream ? "stream" : "json"
          } c=${cs.conns}: ` +
            `${cell.rps.toFixed(0)} req/s p50 ${cell.p50Ms.toFixed(2)} ms cpu ${
              cell.cpuUsPerReq.toFixed(0)
            } µs/req` +
            (cell.errors ? ` errors ${cell.errors}` : ""),
        );
      }
    }
  }
  for (const [name, p] of running) {
    if (!p || !results.mem[name]) continue;
    notePeak(name, p.pid);
    results.mem[name].peak = peaks.get(name) ?? NaN;
    try {
      results.mem[name].end = memMiB(p.pid).rss;
    } catch { /* exited */ }
  }
  for (const [name, n] of restarts) {
    results.notes.push(
      `${name} exited ${n} time(s) during the run and was restarted each time (on the same port, warmed up again before its next cell).`,
    );
    results.restarts[name] = n;
  }
  if (exitReasons.length) results.notes.push(`Exits seen: ${exitReasons.join("; ")}.`);
  if (restarts.has("ccr")) results.notes.push(CCR_EXIT_NOTE);

  // Streaming: paced upstream events must each reach the client before the next is sent.
  for (const d of live.filter((x) => !results.unavailable[x.name])) {
    for (const size of ["small"] as Size[]) {
      const r = benchRequest(size, true, "BENCH_SLOW_STREAM");
      const c = await streamCheck(portOf(d.name), r.path, r.headers, r.body, GAP_MS, SLOW_EVENTS);
      results.streaming.push({ proxy: d.name, gapMs: GAP_MS, ...c });
      log(
        `stream check ${d.name}: ${c.pass ? "pass" : "FAIL"} max lag ${c.maxLagMs.toFixed(1)} ms`,
      );
    }
  }

  for (const p of running.values()) if (p) await stopProc(p);

  // Startup to first /health, one server at a time.
  log("startup timings");
  const startupDefs = defs.filter((d) =>
    d.spec && ["ccmux-apikey", "ccmux-deno", "ccr", "node-floor"].includes(d.name) &&
    !results.unavailable[d.name]
  );
  for (const d of startupDefs) {
    const port = await freePort();
    const s = await measureStartup(
      d.name === "ccmux-apikey" ? "ccmux-node" : d.name,
      () => d.spec!(port),
      STARTS,
    );
    results.startup.push(s);
    log(`startup ${s.name}: median ${s.medianMs.toFixed(0)} ms${s.error ? ` (${s.error})` : ""}`);
  }

  log("ccmux token timings");
  results.token = measureToken(ROOT, tmp, TOKEN_RUNS);
  for (const t of results.token) {
    log(`${t.name}: median ${t.medianMs.toFixed(1)} ms${t.error ? ` (${t.error})` : ""}`);
  }

  // CPU profiles of the hot path under c=16 large-request load.
  if (env.BENCH_NO_PROFILE !== "1") {
    results.profiles = await runProfiles({
      root: ROOT,
      tmp,
      paths,
      driver,
      files,
      durationS: QUICK ? 2 : 5,
      only: ONLY,
      log,
    });
  }

  await stopProc(stub);
  results.elapsedS = (performance.now() - t0) / 1000;
  results.machine.loadEnd = os.loadavg()[0];
  writeFileSync(join(tmp, "results.json"), JSON.stringify(results, null, 2));
  const out = env.BENCH_OUT ?? join(ROOT, "docs", "BENCHMARKS.md");
  writeReport(results, out);
  for (const t of targets(results, aggregate(results.cells))) {
    log(`${t.pass === null ? "n/a " : t.pass ? "pass" : "FAIL"}  ${t.target}: ${t.measured}`);
  }
  log(`results: ${join(tmp, "results.json")}; report: ${out} (${results.elapsedS.toFixed(0)} s)`);
}

process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}
main().catch((e) => {
  console.error(e);
  killAll();
  process.exit(1);
});
