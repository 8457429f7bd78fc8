// `ccmux config check` and `ccmux config show`.
import { CONFIG_FLAG_HELP, parseCommand } from "./args.ts";
import { type Io, UsageError } from "./io.ts";
import { ConfigError, configPath, loadConfig, showConfig } from "../config/mod.ts";

const USAGE = `Usage: ccmux config check [--config FILE]
       ccmux config show  [--config FILE]

  check   validate the config; print every problem with its key path (exit 1 when invalid)
  show    print the effective config as TOML, secrets shown as "***"

Flags:
${CONFIG_FLAG_HELP}
`;

export function run(argv: string[], io: Io): number {
  const [sub, ...rest] = argv;
  if (sub === "-h" || sub === "--help") {
    io.out(USAGE);
    return 0;
  }
  if (sub !== "check" && sub !== "show") {
    throw new UsageError(
      sub ? `unknown config command '${sub}'` : "missing config command (check or show)",
      "config",
    );
  }
  const args = parseCommand(rest, {
    name: `config ${sub}`,
    usage: USAGE,
    options: { config: { type: "string" } },
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const file = args.values.config as string | undefined;
  try {
    const config = loadConfig({ env: io.env, file });
    for (const w of config.warnings) io.err(`ccmux: warning: ${w}\n`);
    if (sub === "show") io.out(showConfig(config));
    else {
      io.err(
        `${config.path ?? `${configPath(io.env, file).path} (not found: embedded default)`}: ok, ` +
          `${config.providers.length} provider(s), ${config.models.length} model(s)\n`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`ccmux: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
