// Process timings: startup to first /health, and `ccmux token` against `node -e 0`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { OAUTH_TOKEN, writeTokenFile } from "./proxies.ts";
import { cleanEnv, startProc, type StartSpec, stopProc } from "./procs.ts";

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export interface StartupResult {
  name: string;
  runsMs: number[];
  medianMs: number;
  error?: string;
}

/** Starts and stops a server `runs` times (after one unmeasured start that warms caches). */
export async function measureStartup(
  name: string,
  spec: () => StartSpec,
  runs: number,
): Promise<StartupResult> {
  const runsMs: number[] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      const p = await startProc(spec());
      if (i > 0) runsMs.push(p.startupMs);
      await stopProc(p);
    }
  } catch (e) {
    return { name, runsMs, medianMs: median(runsMs), error: (e as Error).message };
  }
  return { name, runsMs, medianMs: median(runsMs) };
}

export interface TokenTiming {
  name: string;
  cmd: string[];
  runsMs: number[];
  medianMs: number;
  error?: string;
}

/** Wall time of each command from spawn to exit, interleaved over `runs` rounds. */
export function measureToken(root: string, tmp: string, runs: number): TokenTiming[] {
  const home = join(tmp, "home-token");
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeTokenFile(home);
  const env = cleanEnv({ CCMUX_HOME: home }) as NodeJS.ProcessEnv;
  const cmds: { name: string; cmd: string[]; isToken: boolean }[] = [
    { name: "node -e 0", cmd: [process.execPath, "-e", "0"], isToken: false },
    {
      name: "ccmux token (node dist/ccmux.mjs)",
      cmd: [process.execPath, join(root, "dist", "ccmux.mjs"), "token"],
      isToken: true,
    },
    // Loading the bundle alone, without the token command: separates load cost from token work.
    {
      name: "ccmux --version (node dist/ccmux.mjs)",
      cmd: [process.execPath, join(root, "dist", "ccmux.mjs"), "--version"],
      isToken: false,
    },
  ];
  if (existsSync(join(root, "dist", "ccmux"))) {
    cmds.push({
      name: "ccmux token (single executable dist/ccmux)",
      cmd: [join(root, "dist", "ccmux"), "token"],
      isToken: true,
    });
  }
  const out: TokenTiming[] = cmds.map((c) => ({
    name: c.name,
    cmd: c.cmd,
    runsMs: [],
    medianMs: NaN,
  }));
  for (let r = 0; r <= runs; r++) {
    cmds.forEach((c, i) => {
      if (out[i].error) return;
      const t0 = performance.now();
      const res = spawnSync(c.cmd[0], c.cmd.slice(1), { env, encoding: "utf8" });
      const ms = performance.now() - t0;
      if (res.status !== 0 || (c.isToken && res.stdout !== `${OAUTH_TOKEN}\n`)) {
        // Never print the output itself: it would be a token.
        out[i].error = `exit ${res.status}${res.error ? ` (${res.error.message})` : ""}; ` +
          `stdout ${c.isToken && res.stdout === `${OAUTH_TOKEN}\n` ? "ok" : "not the token"}; ` +
          `stderr: ${(res.stderr ?? "").split("\n")[0].slice(0, 200)}`;
        return;
      }
      if (r > 0) out[i].runsMs.push(ms); // the first round warms the page cache
    });
  }
  for (const o of out) o.medianMs = median(o.runsMs);
  return out;
}
