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

/**
 * TOML for providers p1..pN at `urls` (API keys `${keyPrefix}key-p1`…), with model "m" mapped to
 * them in that order; `extra` goes first (e.g. a [server.timeouts] table).
 */
export function providerChain(
  urls: string[],
  opts: { type?: "anthropic" | "openai"; keyPrefix?: string; extra?: string } = {},
): string {
  const { type = "anthropic", keyPrefix = "", extra = "" } = opts;
  let toml = `${extra}\n`;
  urls.forEach((url, i) => {
    toml += `[[providers]]
name = "p${i + 1}"
provider_type = "${type}"
auth_type = "apikey"
api_key = "${keyPrefix}key-p${i + 1}"
base_url = "${url}"
`;
  });
  toml += `[[models]]\nname = "m"\n`;
  urls.forEach((_, i) => {
    toml += `[[models.mappings]]
provider = "p${i + 1}"
actual_model = "model-${i + 1}"
priority = ${i + 1}
`;
  });
  return toml;
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
