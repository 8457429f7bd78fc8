// `ccmux env`: the settings that point Claude Code at this ccmux, for `eval "$(ccmux env)"`.
// It sends nothing upstream, so a provider's unset "$VAR" does not stop it.
import { CONFIG_FLAG_HELP, intFlag, parseCommand } from "./args.ts";
import { CliError, type Io } from "./io.ts";
import { exportLine, pickShell } from "./shell.ts";
import { loadConfig } from "../config/mod.ts";

const USAGE =
  `Usage: ccmux env [--config FILE] [--host HOST] [--port PORT] [--shell sh|fish|powershell]

Prints ANTHROPIC_BASE_URL (and ANTHROPIC_AUTH_TOKEN when server.api_key is set) for the
configured ccmux, ready for: eval "$(ccmux env)"

Flags:
${CONFIG_FLAG_HELP}
  --host HOST     the host serve listens on, as given to serve --host (default: server.host)
  -p, --port P    the port serve listens on, as given to serve --port (default: server.port)
  --shell SHELL   sh, fish or powershell syntax (default: from $SHELL, else sh)

A wildcard host (0.0.0.0, ::) is printed as the loopback address a client on this machine
uses. With port = 0 serve picks a free port at each start: pass that port with --port.
`;

export function run(argv: string[], io: Io): number {
  const args = parseCommand(argv, {
    name: "env",
    usage: USAGE,
    options: {
      config: { type: "string" },
      shell: { type: "string" },
      host: { type: "string" },
      port: { type: "string", short: "p" },
    },
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const shell = pickShell(args.values.shell, io, "env");
  const portFlag = intFlag(args.values.port, "port", "env", 1, 65535);
  const config = loadConfig({
    env: io.env,
    file: args.values.config as string | undefined,
    lenientEnv: true,
  });
  const port = portFlag ?? config.server.port;
  if (port === 0) {
    throw new CliError(
      "server.port is 0, so serve picks a free port at each start: pass the port of its " +
        "'listening on' line with --port",
    );
  }
  const host = clientHost((args.values.host as string | undefined) ?? config.server.host);
  const vars: [string, string][] = [["ANTHROPIC_BASE_URL", `http://${host}:${port}`]];
  if (config.server.api_key) vars.push(["ANTHROPIC_AUTH_TOKEN", config.server.api_key]);
  const unsetKey = config.unsetEnv.find((u) => u.path === "server.api_key");
  if (unsetKey) {
    io.err(
      `ccmux: warning: server.api_key: environment variable ${unsetKey.variable} is not set ` +
        "here, so ANTHROPIC_AUTH_TOKEN is not printed\n",
    );
  }
  for (const [name, value] of vars) io.out(exportLine(shell, name, value));
  return 0;
}

/** The address a client on this machine dials for a listen address (wildcards → loopback). */
function clientHost(listen: string): string {
  const h = listen.replace(/^\[(.*)\]$/, "$1");
  if (h === "" || h === "0.0.0.0") return "127.0.0.1";
  if (h === "::" || /^(0+:){7}0+$/.test(h) || h === "::0") return "[::1]";
  return h.includes(":") ? `[${h}]` : h;
}
