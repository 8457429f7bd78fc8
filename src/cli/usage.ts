// `ccmux usage`: requests and tokens per day, provider, model and account, from the usage
// records serve keeps in $CCMUX_HOME/state/usage.json (saved every few seconds and on exit).
import { CONFIG_FLAG_HELP, intFlag, parseCommand } from "./args.ts";
import type { Io } from "./io.ts";
import { loadConfig } from "../config/load.ts";
import { loadState, stateDir } from "../quota/state.ts";
import { KEEP_DAYS, type UsageRow, usageSince } from "../quota/usage.ts";

const USAGE = `Usage: ccmux usage [--days N] [--json] [--config FILE]

Requests, errors and tokens per day (UTC), provider, upstream model and account, as counted
by ccmux serve from the upstreams' own usage figures (streamed answers included). serve saves
them to $CCMUX_HOME/state/usage.json every few seconds and when it stops.

Flags:
  --days N        the last N days, today included (default 7, at most ${KEEP_DAYS})
  --json          print a JSON array of {day, provider, model, account, requests, errors,
                  input_tokens, output_tokens, cache_read_tokens, cache_write_tokens}
${CONFIG_FLAG_HELP}
`;

export function run(argv: string[], io: Io): number {
  const args = parseCommand(argv, {
    name: "usage",
    usage: USAGE,
    options: { days: { type: "string" }, json: { type: "boolean" }, config: { type: "string" } },
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const days = intFlag(args.values.days, "days", "usage", 1, KEEP_DAYS) ?? 7;
  const config = loadConfig({
    env: io.env,
    file: args.values.config as string | undefined,
    lenientEnv: true,
  });
  const dir = stateDir(config.home);
  const state = loadState(dir);
  for (const p of state.problems) io.err(`ccmux: warning: ${dir}: ${p}\n`);
  const rows = usageSince(state.usage, days);
  if (args.values.json) {
    io.out(JSON.stringify(rows, null, 2) + "\n");
    return 0;
  }
  if (rows.length === 0) {
    io.err(`No usage recorded in the last ${days} day${days === 1 ? "" : "s"} (${dir}).\n`);
    return 0;
  }
  io.out(table(rows));
  return 0;
}

const COLUMNS: [string, (r: UsageRow) => string][] = [
  ["DAY", (r) => r.day],
  ["PROVIDER", (r) => r.provider],
  ["MODEL", (r) => r.model],
  ["ACCOUNT", (r) => r.account ?? "-"],
  ["REQUESTS", (r) => String(r.requests)],
  ["ERRORS", (r) => String(r.errors)],
  ["INPUT", (r) => String(r.input_tokens)],
  ["OUTPUT", (r) => String(r.output_tokens)],
  ["CACHE READ", (r) => String(r.cache_read_tokens)],
  ["CACHE WRITE", (r) => String(r.cache_write_tokens)],
];

function table(rows: UsageRow[]): string {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => f(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  // Text columns left-aligned, numbers right-aligned.
  return cells.map((row) =>
    row.map((c, i) => i < 4 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ").trimEnd() +
    "\n"
  ).join("");
}
