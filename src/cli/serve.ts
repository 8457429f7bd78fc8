// `ccmux serve`: runs the proxy in the foreground. SIGTERM/SIGINT drain in-flight requests (up
// to 10 s) and exit 0; SIGHUP reloads the config file (an invalid one, or one that would leave
// a non-loopback listener without server.api_key, is logged and ignored). With
// [auth] background_refresh, OAuth accounts are refreshed before they expire (src/auth/background.ts).
import { CONFIG_FLAG_HELP, intFlag, parseCommand } from "./args.ts";
import { CliError, type Io } from "./io.ts";
import { isLoopbackHost, loadConfig } from "../config/mod.ts";
import type { Config } from "../config/types.ts";
import { createApp } from "../proxy/app.ts";
import type { TokenSource } from "../proxy/provider.ts";
import { TokenManager } from "../auth/refresh.ts";
import { startBackgroundRefresh } from "../auth/background.ts";
import { onSignal, startServer } from "../runtime/serve.ts";
import { QuotaBook } from "../quota/book.ts";
import { UsageBook } from "../quota/usage.ts";
import { loadState, quotaToJson, STATE_VERSION, stateDir, StateWriter } from "../quota/state.ts";

const USAGE = `Usage: ccmux serve [--config FILE] [--host HOST] [--port PORT]

Runs the Anthropic-compatible proxy in the foreground (default http://127.0.0.1:13456).
Point Claude Code at it with: eval "$(ccmux env)"

Flags:
${CONFIG_FLAG_HELP}
  --host HOST     listen address (overrides server.host)
  -p, --port P    port, 0 for a free one (overrides server.port)

Signals: SIGTERM/SIGINT finish in-flight requests (up to 10 s) and exit; SIGHUP reloads the
config file (an invalid file, or one without server.api_key while listening on a non-loopback
address, is reported and the running config kept).
`;

/** How long in-flight requests may take to finish on SIGTERM/SIGINT. */
export const DRAIN_MS = 10_000;

export async function run(argv: string[], io: Io): Promise<number> {
  const args = parseCommand(argv, {
    name: "serve",
    usage: USAGE,
    options: {
      config: { type: "string" },
      host: { type: "string" },
      port: { type: "string", short: "p" },
    },
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const port = intFlag(args.values.port, "port", "serve", 0, 65535);
  const host = args.values.host as string | undefined;
  const file = args.values.config as string | undefined;
  const load = (): Config => {
    const config = loadConfig({ env: io.env, file });
    if (host !== undefined) config.server.host = host;
    if (port !== undefined) config.server.port = port;
    if (!isLoopbackHost(config.server.host) && !config.server.api_key) {
      throw new CliError(
        `refusing to listen on non-loopback host '${config.server.host}' without server.api_key`,
      );
    }
    return config;
  };
  let config = load();

  const usesOAuth = (c: Config) => c.providers.some((p) => p.auth_type === "oauth");
  const makeTokens = (c: Config): TokenSource | undefined =>
    usesOAuth(c)
      ? new TokenManager({ config: c, report: (level, m) => app.logger.event(level, m) })
      : undefined;
  let tokens = makeTokens(config);
  const log = batchedWriter(io.err);
  // Quota windows and usage records from the last run; saved every few seconds and on exit.
  const dir = stateDir(config.home);
  const saved = loadState(dir);
  const quota = new QuotaBook(saved.quota);
  const usage = new UsageBook(saved.usage);
  const app = createApp({ config, tokens, log: log.write, quota, usage });
  for (const p of saved.problems) app.logger.event("warn", `state folder ${dir}: ${p} (ignored)`);
  const writer = new StateWriter(dir, [
    { name: "quota.json", version: () => quota.version, json: () => quotaJson(quota) },
    { name: "usage.json", version: () => usage.version, json: () => usageJson(usage) },
  ], (m) => app.logger.event("warn", m));
  // [auth] background_refresh: timers per OAuth account, replaced on every reload.
  let stopBackground = () => {};
  const background = (c: Config, t: TokenSource | undefined) => {
    stopBackground();
    stopBackground = () => {};
    if (c.auth.background_refresh && t instanceof TokenManager) {
      stopBackground = startBackgroundRefresh({
        tokens: t,
        config: c,
        log: (level, m) => app.logger.event(level, m),
      });
    }
  };
  for (const w of config.warnings) {
    if (config.server.log_format === "json") app.logger.event("warn", w);
    else io.err(`ccmux: warning: ${w}\n`);
  }

  // The first SIGTERM/SIGINT drains; a second one stops waiting for in-flight requests.
  // Listening for them before the server starts: a signal right after the listening line
  // must not find the runtime's default action (exit by signal) still in place.
  let signals = 0;
  let stop!: () => void;
  let hurry!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const hurried = new Promise<void>((r) => (hurry = r));
  const onStop = () => (++signals === 1 ? stop() : hurry());
  const offTerm = onSignal("SIGTERM", onStop);
  const offInt = onSignal("SIGINT", onStop);

  let server;
  try {
    server = await startServer({
      hostname: config.server.host,
      port: config.server.port,
      fetch: app.fetch,
      precheck: app.precheck,
      onError: (e) => app.logger.event("error", `server error: ${(e as Error)?.message ?? e}`),
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "EADDRINUSE" || (e as Error).name === "AddrInUse"
      ? "address already in use"
      : (e as Error).message;
    offTerm();
    offInt();
    throw new CliError(`cannot listen on ${config.server.host}:${config.server.port}: ${why}`);
  }
  // What a reload is checked against: the socket keeps the address it was bound to (host and
  // port changes need a restart), whatever the new file says.
  const bound = server.address;
  background(config, tokens);

  const offHup = onSignal("SIGHUP", () => {
    try {
      const next = load();
      if (!isLoopbackHost(bound) && !next.server.api_key) {
        throw new CliError(
          `ccmux still listens on non-loopback address ${bound} and the new config has no ` +
            "server.api_key (restart to change the address)",
        );
      }
      const listenChanged = next.server.host !== config.server.host ||
        (port === undefined && next.server.port !== config.server.port);
      const authChanged = JSON.stringify([next.auth, next.oauth]) !==
        JSON.stringify([config.auth, config.oauth]);
      // A token manager when the new config is the first to use OAuth, or a fresh one when the
      // token file or the accounts' settings changed.
      if (authChanged || (!tokens && usesOAuth(next))) tokens = makeTokens(next) ?? tokens;
      app.reload(next, tokens);
      config = next;
      background(next, tokens);
      app.logger.event(
        "info",
        `config reloaded from ${next.path ?? "(embedded default)"}` +
          (listenChanged ? " (host/port changes need a restart)" : ""),
      );
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      app.logger.event("error", `config reload failed, keeping the running config: ${msg}`);
    }
  });

  const shown = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
  const url = `http://${shown}:${server.port}`;
  if (config.server.log_format === "json") {
    app.logger.event("info", `ccmux listening on ${url}`, { url });
    log.flush();
  } else io.err(`ccmux listening on ${url}\n`);
  writer.start();

  await stopped;
  offHup();
  stopBackground();
  app.logger.event("info", "shutting down: finishing in-flight requests (again to stop now)");
  app.closeStreams();
  await Promise.race([server.shutdown(DRAIN_MS), hurried]);
  // Saved while the signal handlers are still in place (a runtime's default action must not
  // cut the write short).
  await writer.close();
  offTerm();
  offInt();
  log.flush();
  return 0;
}

function quotaJson(q: QuotaBook) {
  return { version: STATE_VERSION, providers: q.snapshot().map(quotaToJson) };
}

function usageJson(u: UsageBook) {
  return { version: STATE_VERSION, rows: u.rows() };
}

/**
 * Collects log lines written in one turn of the event loop into one write: under load that is
 * one stderr syscall per batch instead of one per request.
 */
function batchedWriter(out: (text: string) => void) {
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending) {
      const text = pending;
      pending = "";
      out(text);
    }
  };
  return {
    write(line: string) {
      pending += line;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
