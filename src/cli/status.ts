// `ccmux status`: the signed-in accounts and their expiry. Never prints a secret.
import { CONFIG_FLAG_HELP, parseCommand } from "./args.ts";
import type { Io } from "./io.ts";
import { withTokenErrors } from "./token.ts";
import { loadConfig } from "../config/load.ts";
import { accountProblem, openTokenStore } from "../auth/token_store.ts";
import { resolveOAuth } from "../auth/kinds.ts";
import type { TokenRecord } from "../auth/types.ts";
import type { Config } from "../config/types.ts";
import { loadState, stateDir } from "../quota/state.ts";
import {
  describeWindows,
  liveQuota,
  providersOf,
  type QuotaView,
  savedQuota,
} from "../quota/live.ts";

const USAGE = `Usage: ccmux status [--json] [--quota] [--config FILE]

Lists the OAuth accounts in the token file: kind, expiry (relative and absolute), scopes,
whether the token can refresh and whether a new sign-in is needed, and the quota windows
ccmux serve last saw for the account's providers. Never prints a secret.

Flags:
  --json          print a JSON array of {id, kind, expires_at, expires_in_s, scopes,
                  refreshable, needs_login}; a malformed account also has "broken" (why);
                  accounts with known windows also have "quota": [{provider, source,
                  status, windows: [{name, utilization, resets_at}], …}]
  --quota         also ask each subscription account's provider for its windows now
                  (Anthropic api/oauth/usage, Codex wham/usage); a failure is a warning
${CONFIG_FLAG_HELP}
`;

/** One account as status shows it. */
export interface AccountStatus {
  id: string;
  kind: string | null;
  expires_at: string | null;
  expires_in_s: number | null;
  scopes: string[];
  refreshable: boolean;
  needs_login: boolean;
  /** Only for a malformed record: what is wrong with it (never its content). */
  broken?: string;
  /** The account's quota windows, saved by serve or asked live (--quota). */
  quota?: QuotaView[];
}

export async function run(argv: string[], io: Io): Promise<number> {
  const args = parseCommand(argv, {
    name: "status",
    usage: USAGE,
    options: { json: { type: "boolean" }, quota: { type: "boolean" }, config: { type: "string" } },
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  // No provider is contacted: a provider's unset "$VAR" must not stop this command.
  const config = loadConfig({
    env: io.env,
    file: args.values.config as string | undefined,
    lenientEnv: true,
  });
  const store = openTokenStore(config, { env: io.env });
  const doc = await withTokenErrors(() => store.read());
  const now = Date.now();
  const rows = Object.keys(doc).sort().map((id) => accountStatus(config, id, doc[id], now));
  const saved = loadState(stateDir(config.home)).quota;
  for (const r of rows) {
    const q = savedQuota(config, saved, r.id);
    if (q.length) r.quota = q;
  }
  if (args.values.quota) await askLive(config, rows, io);
  if (args.values.json) {
    io.out(JSON.stringify(rows, null, 2) + "\n");
    return 0;
  }
  if (rows.length === 0) {
    io.err(`No accounts in ${store.path}. Sign in with: ccmux login ID\n`);
    return 0;
  }
  const withQuota = rows.some((r) => r.quota?.length);
  const table = [
    ["ACCOUNT", "KIND", "EXPIRES", "SCOPES", ...(withQuota ? ["QUOTA"] : []), "STATE"],
    ...rows.map((r) => [
      r.id,
      r.kind ?? "?",
      expiry(r),
      r.scopes.join(" ") || "-",
      ...(withQuota ? [r.quota?.length ? describeWindows(r.quota, now) : "-"] : []),
      r.broken
        ? `broken (${r.broken}): ccmux logout ${r.id}, then ccmux login ${r.id}`
        : r.needs_login
        ? `needs login: ccmux login ${r.id}`
        : r.refreshable
        ? "refreshable"
        : "no refresh",
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) {
    io.out(row.map((c, i) => i === row.length - 1 ? c : c.padEnd(widths[i])).join("  ") + "\n");
  }
  return 0;
}

/**
 * Asks each account's providers for their windows now (the live ones replace the saved ones of
 * that provider). A failure is a warning on stderr, never the exit code.
 */
async function askLive(config: Config, rows: AccountStatus[], io: Io): Promise<void> {
  const { TokenManager } = await import("../auth/refresh.ts");
  const tokens = new TokenManager({ config });
  await Promise.all(rows.map(async (r) => {
    if (r.broken || r.needs_login) return;
    const providers = providersOf(config, r.id);
    if (providers.length === 0) return;
    let rec: TokenRecord;
    try {
      rec = await tokens.accessToken(r.id);
    } catch (e) {
      io.err(`ccmux: warning: ${r.id}: no usable token for --quota (${(e as Error).message})\n`);
      return;
    }
    for (const p of providers) {
      try {
        const v = await liveQuota(p, rec, fetch, config);
        if (!v) continue;
        r.quota = [...(r.quota ?? []).filter((q) => q.provider !== p.name), v];
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        io.err(`ccmux: warning: ${r.id}: quota not available (${why})\n`);
      }
    }
  }));
}

export function accountStatus(
  config: Config,
  id: string,
  rec: TokenRecord,
  now: number,
): AccountStatus {
  const broken = accountProblem(rec);
  if (broken) {
    const r = (typeof rec === "object" && rec !== null ? rec : {}) as Record<string, unknown>;
    return {
      id,
      kind: typeof r.kind === "string" ? r.kind : resolveOAuth(config, id)?.kind ?? null,
      expires_at: null,
      expires_in_s: null,
      scopes: [],
      refreshable: false,
      needs_login: true,
      broken,
    };
  }
  const at = rec.expires_at ? Date.parse(rec.expires_at) : NaN;
  return {
    id,
    kind: rec.kind ?? resolveOAuth(config, id)?.kind ?? null,
    expires_at: rec.expires_at ?? null,
    expires_in_s: Number.isNaN(at) ? null : Math.floor((at - now) / 1000),
    scopes: Array.isArray(rec.scopes) ? rec.scopes.map(String) : [],
    refreshable: typeof rec.refresh_token === "string" && rec.refresh_token !== "" &&
      !rec.needs_login,
    needs_login: rec.needs_login === true,
  };
}

function expiry(r: AccountStatus): string {
  if (r.expires_at === null) return "no expiry";
  if (r.expires_in_s === null) return `unreadable (${r.expires_at})`;
  const abs = new Date(Date.parse(r.expires_at)).toISOString().replace(/:\d\d\.\d{3}Z$/, " UTC")
    .replace("T", " ");
  const rel = duration(Math.abs(r.expires_in_s));
  return r.expires_in_s >= 0 ? `in ${rel} (${abs})` : `expired ${rel} ago (${abs})`;
}

function duration(s: number): string {
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
