// claude-code-router 1.0.73, the reference peer: installed into .bench-tmp (never a project
// dependency), configured to forward /v1/messages to the stub with its "Anthropic" transformer
// alone, which is ccr's bypass path (its cheapest: no format conversion), with its log level at
// "warn" (its default is "debug", which writes every request body to its log file). `LOG: false`
// is not usable: 1.0.73's uncaughtException handler then dereferences an undefined logger and
// the process dies under concurrent large requests.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const CCR_VERSION = "1.0.73";

/** Why the harness restarts ccr (seen in its log: "server.logger" undefined in its handler). */
export const CCR_EXIT_NOTE = "ccr 1.0.73 exits when a client closes its connection during a " +
  "streamed response (wrk closes its connections when a load ends): the stream error reaches its " +
  "uncaughtException handler, which itself throws (`server.logger` is undefined), so the process " +
  "dies. The harness restarts it on the same port and warms it up again before its next cell.";
const PKG = "@musistudio/claude-code-router";

/** Installs ccr under `dir` once (reused when the version matches); returns its CLI entry. */
export function installCcr(dir: string, log: (s: string) => void): string {
  const pkgDir = join(dir, "node_modules", ...PKG.split("/"));
  const pj = join(pkgDir, "package.json");
  if (!existsSync(pj) || JSON.parse(readFileSync(pj, "utf8")).version !== CCR_VERSION) {
    mkdirSync(dir, { recursive: true });
    log(`installing ${PKG}@${CCR_VERSION} into ${dir} (not a project dependency)`);
    execFileSync(
      "npm",
      [
        "install",
        "--prefix",
        dir,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        `${PKG}@${CCR_VERSION}`,
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
  }
  // Its package.json "bin": { "ccr": "dist/cli.js" }; `ccr start` runs the server in the
  // foreground of that process (cli.js main → run()).
  return join(pkgDir, "dist", "cli.js");
}

/** Writes $HOME/.claude-code-router/config.json for a ccr listening on `port`. */
export function writeCcrConfig(home: string, port: number, stubPort: number): void {
  const dir = join(home, ".claude-code-router");
  mkdirSync(dir, { recursive: true });
  const config = {
    LOG: true,
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    PORT: port,
    API_TIMEOUT_MS: 600000,
    NON_INTERACTIVE_MODE: true,
    Providers: [{
      name: "stub",
      api_base_url: `http://127.0.0.1:${stubPort}/v1/messages`,
      api_key: "sk-bench-upstream",
      models: ["claude-sonnet-4-5"],
      transformer: { use: ["Anthropic"] },
    }],
    Router: { default: "stub,claude-sonnet-4-5" },
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
}
