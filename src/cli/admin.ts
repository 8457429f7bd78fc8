// `ccmux admin url` / `ccmux admin token`: the admin page's address (token in the fragment,
// which never reaches a server or a log) and the bare admin token, for scripts and the API.
import { CONFIG_FLAG_HELP, intFlag, parseCommand } from "./args.ts";
import { CliError, type Io, UsageError } from "./io.ts";
import { loadConfig } from "../config/load.ts";
import { adminToken } from "../admin/token.ts";

const USAGE = `Usage: ccmux admin url [--port P] [--config FILE]
       ccmux admin token [--config FILE]

url     prints http://127.0.0.1:PORT/admin#token=TOKEN (the page of a running ccmux serve)
token   prints the admin token (Authorization: Bearer TOKEN for the /api/* endpoints)

Both need [admin] enabled = true. Without [admin] token, one is generated once into
$CCMUX_HOME/admin_token (0600).

Flags:
  -p, --port P    the port serve listens on (default: server.port)
${CONFIG_FLAG_HELP}
`;

export function run(argv: string[], io: Io): number {
  const args = parseCommand(argv, {
    name: "admin",
    usage: USAGE,
    options: { port: { type: "string", short: "p" }, config: { type: "string" } },
    maxPositionals: 1,
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const what = args.positionals[0];
  if (what !== "url" && what !== "token") {
    throw new UsageError(
      what === undefined ? "missing subcommand (url or token)" : `unknown subcommand '${what}'`,
      "admin",
    );
  }
  const port = intFlag(args.values.port, "port", "admin", 1, 65535);
  if (what === "token" && port !== undefined) throw new UsageError("--port goes with url", "admin");
  // Providers are not contacted: their unset "$VAR"s must not stop this command.
  const config = loadConfig({
    env: io.env,
    file: args.values.config as string | undefined,
    lenientEnv: true,
  });
  if (!config.admin.enabled) {
    throw new CliError(
      `the admin API is disabled: set [admin] enabled = true in ${
        config.path ?? "the config file"
      } and restart ccmux serve`,
    );
  }
  const token = adminToken(config);
  if (what === "token") io.out(`${token}\n`);
  else io.out(`http://127.0.0.1:${port ?? config.server.port}/admin#token=${token}\n`);
  return 0;
}
