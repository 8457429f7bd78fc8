// The shape of a benchmark run's results (written to .bench-tmp/run-*/results.json).
import type { ProfileSummary } from "./profile.ts";
import type { StreamCheck } from "./stream_check.ts";
import type { StartupResult, TokenTiming } from "./timing.ts";

export interface Cell {
  round: number;
  proxy: string;
  size: "small" | "large";
  stream: boolean;
  conns: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** The proxy process's utime+stime over the load, per request (NaN for direct). */
  cpuUsPerReq: number;
  stubCpuUsPerReq: number;
  /** Connections the stub accepted during the load, per request (NaN for direct). */
  upstreamConnsPerReq?: number;
  errors: number;
  /** The proxy process exited at the end of this load (it was restarted). */
  exited?: boolean;
}

export interface Results {
  date: string;
  quick: boolean;
  rounds: number;
  durationS: number;
  elapsedS?: number;
  machine: {
    cpu: string;
    cores: number;
    kernel: string;
    memGiB: number;
    /** 1-minute load average when the run started and ended (other work on the machine). */
    loadStart: number;
    loadEnd?: number;
    node: string;
    deno: string;
    driver: string;
    commit: string;
  };
  /** Proxy → why it could not be measured. */
  unavailable: Record<string, string>;
  proxies: string[];
  cells: Cell[];
  /** MiB: idle after start (before any request), peak (VmHWM) after the grid, RSS at the end. */
  mem: Record<string, { idle: number; peak: number; end: number }>;
  startup: StartupResult[];
  token: TokenTiming[];
  streaming: ({ proxy: string; gapMs: number } & StreamCheck)[];
  profiles: ({ name: string; load: string; error?: string } & Partial<ProfileSummary>)[];
  notes: string[];
  /** Proxy → how many times it exited under load and was restarted. */
  restarts: Record<string, number>;
}
