// The command dispatcher: parse the command word, lazy-import only that command, run it.
import process from "node:process";
import { CliError, type Io, processIo, UsageError } from "./io.ts";
import { VERSION } from "../version.ts";
import { runtimeLabel } from "../runtime/info.ts";

type Command = { run(argv: string[], io: Io): number | Promise<number> };

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: { summary: "run the proxy on 127.0.0.1", load: () => import("./serve.ts") },
  login: { summary: "sign in to an OAuth account", load: () => import("./login.ts") },
  token: { summary: "print a fresh access token", load: () => import("./token.ts") },
  status: {
    summary: "list signed-in accounts and their expiry",
    load: () => import("./status.ts"),
  },
  logout: { summary: "remove (and revoke) an account", load: () => import("./logout.ts") },
  config: {
    summary: "check or show the config (config check | config show)",
    load: () => import("./config.ts"),
  },
  env: {
    summary: "print the settings that point Claude Code at ccmux",
    load: () => import("./env.ts"),
  },
  service: { summary: "print a systemd or launchd service", load: () => import("./service.ts") },
  tokens: {
    summary: "convert the token file (tokens migrate --to encrypted|file)",
    load: () => import("./tokens.ts"),
  },
  admin: {
    summary: "the admin page's address or token (admin url | admin token)",
    load: () => import("./admin.ts"),
  },
  usage: {
    summary: "requests and tokens per day, provider, model and account",
    load: () => import("./usage.ts"),
  },
};

const USAGE = `ccmux — a local gateway for Claude Code and other Anthropic-API clients

Usage: ccmux <command> [flags]

Commands:
${Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(8)} ${c.summary}`).join("\n")}

Flags:
  -h, --help     show help (also: ccmux <command> --help)
      --version  print the version

Files: ~/.claude-code-mux/config.toml and oauth_tokens.json (override with CCMUX_HOME,
CCMUX_CONFIG or --config).
`;

/** Runs ccmux with `argv` (without the runtime and script) and returns the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === "-h" || first === "--help" || first === "help") {
      (first === undefined ? io.err : io.out)(USAGE);
      return first === undefined ? 2 : 0;
    }
    if (first === "--version" || first === "-V") {
      io.out(`ccmux ${VERSION} (${runtimeLabel()})\n`);
      return 0;
    }
    const cmd = COMMANDS[first];
    if (!cmd) {
      throw new UsageError(
        first.startsWith("-") ? `unknown flag '${first}'` : `unknown command '${first}'`,
      );
    }
    return await (await cmd.load()).run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      const help = e.command ? `ccmux ${e.command} --help` : "ccmux --help";
      io.err(`ccmux: ${e.message}\nRun '${help}' for usage.\n`);
      return 2;
    }
    if (e instanceof CliError) {
      io.err(`ccmux: ${e.message}\n`);
      return e.code;
    }
    // Everything else, a ConfigError included (its message names the file and each key): exit 1.
    io.err(`ccmux: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.CCMUX_DEBUG) io.err(`${(e as Error)?.stack}\n`);
    return 1;
  }
}
