// `ccmux logout ID`: removes the account from the token file, then revokes its token where the
// kind has a revocation endpoint. The local removal comes first so a failed or slow revoke
// never leaves a usable token behind; a failed revoke is a warning.
import { CONFIG_FLAG_HELP, parseCommand } from "./args.ts";
import { CliError, type Io, UsageError } from "./io.ts";
import { withTokenErrors } from "./token.ts";
import { loadConfig } from "../config/load.ts";
import { openTokenStore } from "../auth/token_store.ts";
import { resolveOAuth } from "../auth/kinds.ts";
import { revokeRecord } from "../auth/revoke.ts";
import type { TokenRecord } from "../auth/types.ts";

const USAGE = `Usage: ccmux logout ID [--config FILE]

Removes OAuth account ID from the token file and revokes its refresh token at the server
where the account's kind offers revocation (a failed revocation is only a warning).

Flags:
${CONFIG_FLAG_HELP}

Exit status: 0 removed; 1 the token file cannot be used; 4 no such account.
`;

export async function run(argv: string[], io: Io): Promise<number> {
  const args = parseCommand(argv, {
    name: "logout",
    usage: USAGE,
    options: { config: { type: "string" } },
    maxPositionals: 1,
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const id = args.positionals[0];
  if (id === undefined) throw new UsageError("missing account ID", "logout");
  // No provider is contacted: a provider's unset "$VAR" must not stop this command.
  const config = loadConfig({
    env: io.env,
    file: args.values.config as string | undefined,
    lenientEnv: true,
  });
  const store = openTokenStore(config, { env: io.env });
  // Read first so a missing account never creates the folder or takes the lock.
  const exists = Object.hasOwn(await withTokenErrors(() => store.read()), id);
  const removed = exists &&
    await withTokenErrors(() =>
      store.update((doc): { rec: TokenRecord } | undefined => {
        if (!Object.hasOwn(doc, id)) return undefined;
        const rec = doc[id];
        delete doc[id];
        return { rec };
      })
    );
  if (!removed) {
    const ids = Object.keys(await store.read().catch(() => ({})));
    const known = ids.length ? ` (accounts: ${ids.sort().join(", ")})` : "";
    throw new CliError(`no account '${id}' in ${store.path}${known}`, 4);
  }
  // A malformed record may hold anything: revoke only with what is really there.
  const rec = typeof removed.rec === "object" && removed.rec !== null
    ? removed.rec
    : ({} as TokenRecord);
  const kind = typeof rec.kind === "string" ? rec.kind : undefined;
  const result = await revokeRecord(resolveOAuth(config, id, kind), rec);
  if ("failed" in result) {
    io.err(`ccmux: warning: removed '${id}' locally, but revoking it failed: ${result.failed}\n`);
  } else {
    io.err(`Logged out of '${id}'${"ok" in result ? " (token revoked)" : ""}.\n`);
  }
  return 0;
}
