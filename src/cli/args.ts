// Flag parsing on node:util parseArgs (JSR's @std/cli is unreachable here), with gh-like
// behaviour: --help anywhere prints usage and exits 0; anything unknown is a usage error.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./io.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** One command's flags, positionals and help text. */
export interface CommandSpec<O extends Options> {
  /** As typed after `ccmux`, e.g. "token" or "config check". */
  name: string;
  usage: string;
  options: O;
  /** Most positional arguments accepted (default 0). */
  maxPositionals?: number;
}

/** Parsed flags; `help` is true when usage was asked for. */
export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  help: boolean;
}

/** Parses `argv` against `spec`; throws UsageError naming the problem. */
export function parseCommand<O extends Options>(argv: string[], spec: CommandSpec<O>): Parsed {
  let result;
  try {
    result = parseArgs({
      args: argv,
      options: { ...spec.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(cleanParseError(e), spec.name);
  }
  const values = result.values as Parsed["values"];
  const help = values.help === true;
  delete values.help;
  if (!help && result.positionals.length > (spec.maxPositionals ?? 0)) {
    throw new UsageError(`unexpected argument '${result.positionals.at(-1)}'`, spec.name);
  }
  return { values, positionals: result.positionals, help };
}

/**
 * node:util's messages in ccmux's own wording (the one main.ts uses for a flag before the
 * command): "unknown flag '--x'", "missing value for flag '--port'", "flag '--json' takes no
 * value".
 */
function cleanParseError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // node: "Unknown option '--x'. To specify a positional argument starting with a '-', ..."
  const first = msg.split(/\.\s/)[0].replace(/\.$/, "");
  let m = /^Unknown option '([^']+)'/.exec(first);
  if (m) return `unknown flag '${m[1]}'`;
  m = /^Option '(?:-\w, )?(-{1,2}[^' ]+)(?: <value>)?' argument missing/.exec(first);
  if (m) return `missing value for flag '${m[1]}'`;
  m = /^Option '(?:-\w, )?(-{1,2}[^' ]+)' does not take an argument/.exec(first);
  if (m) return `flag '${m[1]}' takes no value`;
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** The `--config` line of every command's help, so each shows the same lookup. */
export const CONFIG_FLAG_HELP =
  "  --config FILE   config file (default: $CCMUX_CONFIG, else $CCMUX_HOME/config.toml,\n" +
  "                  else ~/.claude-code-mux/config.toml)";

/** Reads an integer flag, or throws UsageError. */
export function intFlag(
  value: unknown,
  flag: string,
  command: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(
      `invalid value '${value}' for --${flag}: expected an integer ${min}–${max}`,
      command,
    );
  }
  return n;
}
