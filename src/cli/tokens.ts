// `ccmux tokens migrate --to encrypted|file`: rewrites the token file in the other format under
// the token store's lock, atomically, keeping every account and field. The config is not
// edited: the command says which `[auth] store` the file now needs.
import { CONFIG_FLAG_HELP, parseCommand } from "./args.ts";
import { type Io, UsageError } from "./io.ts";
import { withTokenErrors } from "./token.ts";
import { loadConfig } from "../config/load.ts";
import { openTokenStore, tokenCodec, type TokenFormat } from "../auth/token_store.ts";

const USAGE = `Usage: ccmux tokens migrate --to encrypted|file [--config FILE]

Rewrites the token file in the other format, under its lock and atomically (every account and
field kept):
  encrypted   sealed with AES-256-GCM; the key from [auth] key_source (the OS keychain, which
              gets a new key if it has none, CCMUX_TOKEN_KEY, or [auth] key_file)
  file        the plain JSON file claude-code-mux reads (0600)
Then set [auth] store to the same value in the config.

Flags:
  --to FORMAT     encrypted or file
${CONFIG_FLAG_HELP}

Exit status: 0 done (or already in that format); 1 the file or key cannot be used; 2 usage.
`;

export async function run(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "-h" || sub === "--help") {
    io.out(USAGE);
    return 0;
  }
  if (sub !== "migrate") {
    throw new UsageError(
      sub ? `unknown tokens command '${sub}'` : "missing tokens command (migrate)",
      "tokens",
    );
  }
  const args = parseCommand(rest, {
    name: "tokens migrate",
    usage: USAGE,
    options: { to: { type: "string" }, config: { type: "string" } },
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const to = args.values.to;
  if (to === undefined) throw new UsageError("missing --to (encrypted or file)", "tokens migrate");
  if (to !== "encrypted" && to !== "file") {
    throw new UsageError(
      `invalid value '${to}' for --to: expected encrypted or file`,
      "tokens migrate",
    );
  }
  const config = loadConfig({
    env: io.env,
    file: args.values.config as string | undefined,
    lenientEnv: true,
  });
  const target: TokenFormat = to;
  const other: TokenFormat = to === "encrypted" ? "file" : "encrypted";
  const store = openTokenStore(config, { env: io.env });
  const targetCodec = tokenCodec(config.auth, target, io.env);
  const sourceCodec = tokenCodec(config.auth, other, io.env);
  const outcome = await withTokenErrors(() => store.rewriteAs(targetCodec, sourceCodec));
  const key = targetCodec.describe?.() ?? sourceCodec.describe?.();
  const what = target === "encrypted" ? "encrypted" : "plain JSON";
  if (outcome === "missing") {
    io.err(`No token file at ${store.path}; nothing to migrate.\n`);
  } else if (outcome === "same") {
    io.err(`${store.path} is already ${what}${key ? ` (key from ${key})` : ""}.\n`);
  } else {
    io.err(`Rewrote ${store.path} as ${what}${key ? ` (key from ${key})` : ""}.\n`);
  }
  if (config.auth.store !== target) {
    io.err(
      `Now set [auth] store = "${target}" in ${config.path ?? "the config"}: ` +
        `with store = "${config.auth.store}" ccmux refuses the ${what} file.\n`,
    );
  }
  return 0;
}
