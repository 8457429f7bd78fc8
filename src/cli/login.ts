// `ccmux login [ID]`: OAuth 2.0 + PKCE sign-in, or with --device the kind's device sign-in
// (docs/OAUTH_SETUP.md). Messages go to stderr; stdout stays empty; tokens are never printed.
import { CONFIG_FLAG_HELP, intFlag, parseCommand } from "./args.ts";
import { CliError, type Io, UsageError } from "./io.ts";
import { type Config, loadConfig } from "../config/mod.ts";
import { configuredAccounts, resolveOAuth } from "../auth/kinds.ts";
import { login, LoginError, type LoginResult } from "../auth/login.ts";
import { deviceKinds, deviceLogin, deviceOnly, deviceStarter } from "../auth/device_login.ts";
import { type LineReader, readLines } from "../auth/paste_input.ts";
import { TokenFileError } from "../auth/token_store.ts";
import { browserUnavailable, openBrowser } from "../runtime/browser.ts";

const USAGE =
  `Usage: ccmux login [ID] [--device | --paste] [--no-browser] [--timeout S] [--config FILE]

Signs in to OAuth account ID (OAuth 2.0 + PKCE) and saves it in the token file.
Without ID: the one OAuth account the config names, or claude-max when it names none; when
it names several, a terminal is asked which (elsewhere that is a usage error listing them).
An ID without an [oauth.ID] table uses the kind of that name: claude-max or anthropic
(Claude Pro/Max), anthropic-console (API key), chatgpt or openai (ChatGPT/Codex).
A github-copilot account (kind "github-copilot", your own GitHub OAuth App's client_id)
always signs in with --device.

Flags:
  --no-browser    print the sign-in URL without opening a browser
  --paste         no callback server: paste the code (CODE#STATE) or the final URL
  --device        device sign-in: open a page on any device (a phone) and type the code
                  shown here; no browser, callback or paste on this machine (kinds openai,
                  oidc, github-copilot)
  --timeout S     give up after S seconds (default 300; --device: when the code expires)
${CONFIG_FLAG_HELP}

On a machine without a browser (SSH), use --device, --paste, or forward the callback port:
ssh -L PORT:127.0.0.1:PORT host. See docs/OAUTH_SETUP.md.
`;

/** The account signed in to when the config names no OAuth account (the embedded default's). */
const DEFAULT_ACCOUNT = "claude-max";

export async function run(argv: string[], io: Io): Promise<number> {
  const args = parseCommand(argv, {
    name: "login",
    usage: USAGE,
    options: {
      "no-browser": { type: "boolean" },
      paste: { type: "boolean" },
      device: { type: "boolean" },
      timeout: { type: "string" },
      config: { type: "string" },
    },
    maxPositionals: 1,
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const timeoutS = intFlag(args.values.timeout, "timeout", "login", 1, 86_400);
  let device = args.values.device === true;
  if (device && args.values.paste === true) {
    throw new UsageError("--device and --paste are two different sign-ins: pick one", "login");
  }
  // Sign-in talks to the OAuth server only: a provider's unset "$VAR" must not stop it.
  const config = loadConfig({
    env: io.env,
    file: args.values.config as string | undefined,
    lenientEnv: true,
  });
  // One reader for stdin: the account prompt takes a line, the paste input the rest.
  let stdinLines: LineReader | undefined;
  const stdinReader = () => (stdinLines ??= readLines(io.stdin()));
  const id = args.positionals[0] ?? await pickAccount(config, io, stdinReader);
  if (args.positionals[0] === undefined) io.err(`Signing in to account '${id}'.\n`);
  // An ID with no known kind is a bad argument (exit 2), not a failed sign-in.
  const resolved = resolveOAuth(config, id);
  if (!resolved) {
    throw new UsageError(
      `no OAuth kind is known for account '${id}': use claude-max, anthropic-console or openai, ` +
        `or add [oauth.${id}] with a kind to the config`,
      "login",
    );
  }
  if (deviceOnly(resolved.kind)) {
    if (args.values.paste === true) {
      throw new UsageError(
        `--paste: account '${id}' is of kind "${resolved.kind}", which signs in with the device ` +
          "flow only (ccmux login ID)",
        "login",
      );
    }
    device = true;
  }
  if (device && !deviceStarter(resolved.kind)) {
    const kinds = deviceKinds().map((k) => `"${k}"`).join(", ");
    throw new UsageError(
      `--device: account '${id}' is of kind "${resolved.kind}", which has no device sign-in; ` +
        `--device works for kind ${kinds} (for this account use the browser sign-in or --paste)`,
      "login",
    );
  }
  const paste = args.values.paste === true;
  const noBrowser = args.values["no-browser"] === true || paste ||
    browserUnavailable(io.env) !== undefined;

  let result: LoginResult;
  try {
    result = device ? await deviceLogin({ config, id, timeoutS, say: io.err }) : await login({
      config,
      id,
      paste,
      timeoutS: timeoutS ?? 300,
      say: io.err,
      stdin: stdinLines ? () => linesAsBytes(stdinLines!) : io.stdin,
      openBrowser: noBrowser ? undefined : (url) => openBrowser(url, io.env),
    });
  } catch (e) {
    if (e instanceof LoginError || e instanceof TokenFileError) {
      throw new CliError(`login ${id} failed: ${e.message}`);
    }
    throw e;
  }
  const r = result.record;
  const who = r.account?.email ?? r.account_id ?? r.account?.uuid;
  const lines = [`Signed in to '${id}' (${result.resolved.kind})${who ? ` as ${who}` : ""}.`];
  lines.push(`Scopes: ${r.scopes?.length ? r.scopes.join(" ") : "(none)"}`);
  if (r.expires_at) {
    const mins = Math.round((Date.parse(r.expires_at) - Date.now()) / 60_000);
    const rel = mins >= 120 ? `${Math.round(mins / 60)} h` : `${mins} min`;
    const refresh = r.refresh_token ? "; ccmux refreshes it" : "";
    lines.push(`Access token expires ${r.expires_at} (in ${rel})${refresh}.`);
  }
  if (r.api_key) lines.push("An API key was created and stored with the account.");
  lines.push(`Saved in ${config.auth.token_file}`);
  io.err(lines.join("\n") + "\n");
  return 0;
}

/**
 * The one OAuth account the config names, else claude-max when it names none. Several: on a
 * terminal the user picks one; elsewhere a usage error lists them.
 */
async function pickAccount(config: Config, io: Io, lines: () => LineReader): Promise<string> {
  const ids = configuredAccounts(config);
  if (ids.length === 0) return DEFAULT_ACCOUNT;
  if (ids.length === 1) return ids[0];
  const choices = `the config names ${ids.join(", ")} (ccmux login ID)`;
  if (!io.isTty || !io.stdinTty) throw new UsageError(`which account? ${choices}`, "login");
  io.err(`The config names several OAuth accounts:\n`);
  ids.forEach((id, i) => io.err(`  ${i + 1}) ${id}\n`));
  io.err(`Sign in to which one? [1-${ids.length}] `);
  let answer = "";
  for await (const line of lines()) {
    answer = line.trim();
    break;
  }
  const n = /^\d+$/.test(answer) ? Number(answer) : NaN;
  const picked = n >= 1 && n <= ids.length ? ids[n - 1] : ids.find((id) => id === answer);
  if (!picked) {
    throw new UsageError(
      `${answer ? `no account '${answer}'` : "no account chosen"}: ${choices}`,
      "login",
    );
  }
  return picked;
}

/** The rest of an already-started line reader, as the byte stream login() reads. */
async function* linesAsBytes(reader: LineReader): AsyncGenerator<string> {
  for await (const line of reader) yield `${line}\n`;
}
