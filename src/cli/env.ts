// `ccmux env`: the settings that point Claude Code at this ccmux, for `eval "$(ccmux env)"`.
import { parseCommand } from "./args.ts";
import { type Io, UsageError } from "./io.ts";
import { loadConfig } from "../config/mod.ts";

const USAGE = `Usage: ccmux env [--config FILE] [--shell sh|fish|powershell]

Prints ANTHROPIC_BASE_URL (and ANTHROPIC_AUTH_TOKEN when server.api_key is set) for the
configured ccmux, ready for: eval "$(ccmux env)"
`;

export function run(argv: string[], io: Io): Promise<number> {
  const args = parseCommand(argv, {
    name: "env",
    usage: USAGE,
    options: { config: { type: "string" }, shell: { type: "string" } },
  });
  if (args.help) {
    io.out(USAGE);
    return Promise.resolve(0);
  }
  const shell = (args.values.shell as string | undefined) ?? "sh";
  if (!["sh", "bash", "zsh", "fish", "powershell", "pwsh"].includes(shell)) {
    throw new UsageError(
      `invalid value '${shell}' for --shell: expected sh, fish or powershell`,
      "env",
    );
  }
  const config = loadConfig({ env: io.env, file: args.values.config as string | undefined });
  const host = config.server.host.includes(":") && !config.server.host.startsWith("[")
    ? `[${config.server.host}]`
    : config.server.host;
  const vars: [string, string][] = [["ANTHROPIC_BASE_URL", `http://${host}:${config.server.port}`]];
  if (config.server.api_key) vars.push(["ANTHROPIC_AUTH_TOKEN", config.server.api_key]);
  for (const [name, value] of vars) io.out(formatVar(shell, name, value));
  return Promise.resolve(0);
}

function formatVar(shell: string, name: string, value: string): string {
  const q = `'${value.replaceAll("'", `'\\''`)}'`;
  if (shell === "fish") return `set -gx ${name} ${q};\n`;
  if (shell === "powershell" || shell === "pwsh") {
    return `$env:${name} = '${value.replaceAll("'", "''")}'\n`;
  }
  return `export ${name}=${q}\n`;
}
