// ccmux in-process for tests: createApp on the runtime's real server (127.0.0.1:0), with the
// log lines captured so tests can read (and grep) them.
import { parseConfig } from "../../src/config/mod.ts";
import type { Config } from "../../src/config/types.ts";
import { type CcmuxApp, createApp } from "../../src/proxy/app.ts";
import type { TokenSource } from "../../src/proxy/provider.ts";
import { startServer } from "../../src/runtime/serve.ts";

/** A running in-process ccmux. */
export interface TestCcmux {
  url: string;
  port: number;
  app: CcmuxApp;
  /** Every log line written so far. */
  logs: string[];
  /** Resolves with the first log line matching `re` (lines are written when a request ends). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

/** Parses `toml` (with `env` for "$VAR" values and CCMUX_HOME) into a Config. */
export function testConfig(toml: string, env: Record<string, string> = {}): Config {
  return parseConfig(toml, "test.toml", env);
}

/** Starts ccmux with `config` (a Config or TOML text). */
export async function startCcmux(
  config: Config | string,
  opts: { tokens?: TokenSource; env?: Record<string, string> } = {},
): Promise<TestCcmux> {
  const cfg = typeof config === "string" ? testConfig(config, opts.env) : config;
  const logs: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  const app = createApp({
    config: cfg,
    tokens: opts.tokens,
    log: (line) => {
      logs.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    },
  });
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    fetch: app.fetch,
    precheck: app.precheck,
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    app,
    logs,
    waitForLog(re, timeoutMs = 20_000) {
      const found = logs.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no log line matching ${re}; log so far:\n${logs.join("")}`));
        }, timeoutMs);
        const w = {
          re,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.push(w);
      });
    },
    close: () => server.shutdown(5000),
  };
}
