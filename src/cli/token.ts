// `ccmux token [ID]`: prints a valid access token (like `gh auth token`), refreshing it first
// when it expires within refresh_skew_s. Stdout carries only the token.
import { CONFIG_FLAG_HELP, parseCommand } from "./args.ts";
import { CliError, type Io, UsageError } from "./io.ts";
import { exportLine, pickShell } from "./shell.ts";
import { loadConfig } from "../config/mod.ts";
import { openTokenStore, TokenFileError, type TokenStore } from "../auth/token_store.ts";
import { LoginRequiredError, RefreshError, TokenManager } from "../auth/refresh.ts";
import { LockFileError, LockTimeoutError } from "../auth/lock.ts";

const USAGE = `Usage: ccmux token [ID] [--json | --env [--shell SHELL]] [--refresh] [--config FILE]

Prints a valid access token for OAuth account ID, refreshing it first when it expires within
auth.refresh_skew_s (default 5 minutes). ID may be left out when exactly one account exists.

Flags:
  --json          print {id, access_token, token_type, expires_at, scopes}
  --env           print export ANTHROPIC_AUTH_TOKEN=<token>, for eval "$(ccmux token --env)"
  --shell SHELL   with --env: sh, fish or powershell syntax (default: from $SHELL, else sh)
  --refresh       refresh even when the token is still valid
${CONFIG_FLAG_HELP}

Exit status: 0 ok; 1 error (network, server, unreadable file); 4 sign-in needed.
`;

export async function run(argv: string[], io: Io): Promise<number> {
  const args = parseCommand(argv, {
    name: "token",
    usage: USAGE,
    options: {
      json: { type: "boolean" },
      env: { type: "boolean" },
      refresh: { type: "boolean" },
      shell: { type: "string" },
      config: { type: "string" },
    },
    maxPositionals: 1,
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  if (args.values.json && args.values.env) {
    throw new UsageError("--json and --env cannot be used together", "token");
  }
  if (args.values.shell !== undefined && !args.values.env) {
    throw new UsageError("--shell goes with --env", "token");
  }
  const shell = args.values.env ? pickShell(args.values.shell, io, "token") : "sh";
  // No provider is contacted: a provider's unset "$VAR" must not stop this command.
  const config = loadConfig({
    env: io.env,
    file: args.values.config as string | undefined,
    lenientEnv: true,
  });
  const store = openTokenStore(config, { env: io.env });
  const id = await pickAccount(store, args.positionals[0]);
  const rec = await withTokenErrors(() =>
    new TokenManager({ config, store }).accessToken(id, { force: args.values.refresh === true })
  );
  if (args.values.json) {
    io.out(
      JSON.stringify({
        id,
        access_token: rec.access_token,
        token_type: rec.token_type ?? "bearer",
        expires_at: rec.expires_at ?? null,
        scopes: rec.scopes ?? [],
      }) + "\n",
    );
  } else if (args.values.env) {
    io.out(exportLine(shell, "ANTHROPIC_AUTH_TOKEN", rec.access_token));
  } else {
    io.out(`${rec.access_token}\n`);
  }
  return 0;
}

/** ID as given, else the only account; several accounts → usage error listing them. */
async function pickAccount(store: TokenStore, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const ids = Object.keys(await withTokenErrors(() => store.read()));
  if (ids.length === 1) return ids[0];
  if (ids.length === 0) throw new CliError(`no account in ${store.path}; run: ccmux login ID`, 4);
  throw new UsageError(`several accounts; name one: ${ids.sort().join(", ")}`, "token");
}

/** Maps the auth errors to exit codes: 4 sign-in needed, 1 anything else. */
export async function withTokenErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LoginRequiredError) throw new CliError(e.message, 4);
    if (
      e instanceof RefreshError || e instanceof TokenFileError ||
      e instanceof LockTimeoutError || e instanceof LockFileError
    ) {
      throw new CliError(e.message, 1);
    }
    throw e;
  }
}
