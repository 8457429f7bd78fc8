// `ccmux login ID --device` as a library function: start the kind's device sign-in, show the
// code and the page to the user, poll until approved, then store the account like any sign-in.
// Nothing is stored unless the sign-in succeeds.
import type { Config, OAuthKind } from "../config/types.ts";
import {
  type Clock,
  DeviceFlowError,
  type DeviceGrant,
  type DeviceStarter,
  pollDevice,
} from "./device.ts";
import { startOpenAIDevice } from "./device_openai.ts";
import { githubClientIdHelp, startGithubDevice, startOidcDevice } from "./device_rfc8628.ts";
import { type LoginResult, resolveForLogin, saveAccount, toRecord } from "./login.ts";
import { describeError, LoginError, startSession } from "./pkce_flow.ts";
import { openTokenStore } from "./token_store.ts";

/** The kinds with a device sign-in and how each one starts. */
const STARTERS: Partial<Record<OAuthKind, DeviceStarter>> = {
  openai: startOpenAIDevice,
  oidc: startOidcDevice,
  "github-copilot": startGithubDevice,
};

/** Kinds that sign in with the device flow only: `ccmux login ID` implies --device. */
export function deviceOnly(kind: OAuthKind): boolean {
  return kind === "github-copilot";
}

/** The starter for `kind`, or undefined when the kind has no device sign-in. */
export function deviceStarter(kind: OAuthKind): DeviceStarter | undefined {
  return STARTERS[kind];
}

/** Kinds that `ccmux login ID --device` accepts. */
export function deviceKinds(): OAuthKind[] {
  return Object.keys(STARTERS) as OAuthKind[];
}

export interface DeviceLoginOptions {
  config: Config;
  id: string;
  /** Give up after this many seconds (default: when the code expires). */
  timeoutS?: number;
  /** Human messages (stderr). Never given a secret. */
  say: (text: string) => void;
  fetch?: typeof fetch;
  now?: () => Date;
  clock?: Clock;
}

/** Runs the device sign-in for `opts.id` and stores the result. Throws LoginError on failure. */
export async function deviceLogin(opts: DeviceLoginOptions): Promise<LoginResult> {
  const resolved = resolveForLogin(opts.config, opts.id);
  const start = deviceStarter(resolved.kind);
  if (!start) {
    throw new LoginError(
      `kind "${resolved.kind}" has no device sign-in (--device works for kind ` +
        `${deviceKinds().map((k) => `"${k}"`).join(", ")})`,
    );
  }
  if (resolved.kind === "github-copilot" && !resolved.client_id) {
    throw new LoginError(githubClientIdHelp(resolved));
  }
  // An unusable token file fails now, before the user signs in for nothing.
  await openTokenStore(opts.config).read();
  let tokens;
  try {
    const session = await startSession(resolved, opts.fetch ?? fetch);
    const grant = await start(session);
    opts.say(prompt(opts.id, grant));
    tokens = await pollDevice(grant, {
      timeoutMs: (opts.timeoutS ?? grant.expires_in_s) * 1000,
      clock: opts.clock,
    });
  } catch (e) {
    if (e instanceof DeviceFlowError) throw e;
    throw new LoginError(describeError(e));
  }
  const record = toRecord(opts.id, resolved, tokens, (opts.now ?? (() => new Date()))());
  await saveAccount(opts.config, opts.id, record);
  return { record, resolved };
}

/** What the user reads (on stderr, possibly off a phone's camera): the page and the code. */
function prompt(id: string, g: DeviceGrant): string {
  const lines = [
    `To sign in to '${id}', open this page on any device (a phone will do):`,
    `  ${g.verification_uri}`,
    `and enter the code:`,
    `  ${g.user_code}`,
  ];
  if (g.verification_uri_complete) {
    lines.push(`Or open this address, which carries the code:`, `  ${g.verification_uri_complete}`);
  }
  const mins = Math.round(g.expires_in_s / 60);
  lines.push(
    `The code expires in ${mins >= 2 ? `${mins} min` : `${g.expires_in_s} s`}. Enter only a code ` +
      "this terminal showed you: whoever types a code signs in the machine that asked for it.",
    "Waiting for the sign-in to be approved (Ctrl-C to cancel)...",
  );
  return lines.join("\n") + "\n";
}
