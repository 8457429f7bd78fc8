// Device sign-in (`ccmux login ID --device`): the user opens a URL on any device (a phone) and
// types a short code while ccmux polls. One poller serves every kind that has a device sign-in;
// each kind contributes only a `start` that asks its server for a code and returns a `poll` of
// one request (src/auth/device_login.ts maps kinds to starters). The poller keeps the rules of RFC 8628 §3.5: wait the server's interval between
// polls, add 5 s on every `slow_down` (for this and all later polls), stop on `access_denied`,
// `expired_token`, the code's lifetime or the caller's timeout.
import type { TokenEndpointResponse } from "oauth4webapi";
import { LoginError, type PkceSession } from "./pkce_flow.ts";

/** The interval RFC 8628 (and OpenAI's device sign-in) use when the server names none. */
export const DEFAULT_INTERVAL_S = 5;
/** What RFC 8628 §3.5 adds to the interval on each `slow_down`. */
export const SLOW_DOWN_STEP_S = 5;

/** What one poll of the token endpoint found. */
export type PollOutcome =
  | { status: "pending" }
  /** The server asks for slower polling; `interval_s` when it names the new interval. */
  | { status: "slow_down"; interval_s?: number }
  | { status: "done"; tokens: TokenEndpointResponse };

/** Why a device sign-in stopped without tokens. */
export type DeviceFailure = "access_denied" | "expired_token" | "timeout";

/** A device sign-in that ended without an approval; nothing was stored. */
export class DeviceFlowError extends LoginError {
  constructor(readonly reason: DeviceFailure, message: string) {
    super(message);
    this.name = "DeviceFlowError";
  }
}

/**
 * The poll outcome for an RFC 8628 §3.5 error code (OpenAI's device sign-in uses the same
 * names): pending or slow_down (with the server's new interval, if it names one), a
 * DeviceFlowError for a denial or an expired code, undefined for any other code.
 */
export function deviceErrorOutcome(
  error: string | undefined,
  interval: unknown,
  userCode: string,
): PollOutcome | undefined {
  switch (error) {
    case "authorization_pending":
      return { status: "pending" };
    case "slow_down":
      return { status: "slow_down", interval_s: parseInterval(interval) };
    case "access_denied":
      throw new DeviceFlowError(
        "access_denied",
        "the sign-in was denied at the device page (access_denied); nothing was stored",
      );
    case "expired_token":
      throw new DeviceFlowError(
        "expired_token",
        `the code ${userCode} expired before the sign-in was approved (expired_token); ` +
          "run the command again for a new code",
      );
  }
  return undefined;
}

/** A started device sign-in: what the user is shown and how to poll for the outcome. */
export interface DeviceGrant {
  user_code: string;
  /** The page where the user types `user_code`. */
  verification_uri: string;
  /** The same page with the code filled in, when the server gives one (RFC 8628). */
  verification_uri_complete?: string;
  /** Seconds between polls, as the server asked (DEFAULT_INTERVAL_S when it did not). */
  interval_s: number;
  /** Seconds the code is valid for. */
  expires_in_s: number;
  /**
   * One poll. Resolves with the outcome; rejects with DeviceFlowError for `access_denied` /
   * `expired_token`, or LoginError for anything else. `signal` aborts the request.
   */
  poll(signal: AbortSignal): Promise<PollOutcome>;
}

/** Starts a kind's device sign-in on a session (its server metadata, client and fetch). */
export type DeviceStarter = (session: PkceSession) => Promise<DeviceGrant>;

/** Time as the poller sees it (injected in tests so no test waits for real intervals). */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface PollOptions {
  /** Give up after this many ms (the caller's --timeout); the code's lifetime also ends it. */
  timeoutMs: number;
  clock?: Clock;
  /** Longest wait for one poll's answer (ms). */
  requestTimeoutMs?: number;
  /** Called with each wait before a poll (ms), e.g. to log the schedule. */
  onWait?: (ms: number) => void;
}

/**
 * Polls `grant` until the user approves (its tokens), refuses, the code expires or the timeout
 * passes (DeviceFlowError). The first poll comes one interval after the start, as RFC 8628 asks.
 */
export async function pollDevice(grant: DeviceGrant, opts: PollOptions): Promise<
  TokenEndpointResponse
> {
  const clock = opts.clock ?? realClock;
  const start = clock.now();
  const timeoutAt = start + opts.timeoutMs;
  const expiresAt = start + grant.expires_in_s * 1000;
  const deadline = Math.min(timeoutAt, expiresAt);
  let intervalS = grant.interval_s;
  const stop = (): never => {
    if (expiresAt <= timeoutAt) {
      throw new DeviceFlowError(
        "expired_token",
        `the code ${grant.user_code} expired before the sign-in was approved (after ` +
          `${seconds(grant.expires_in_s * 1000)}); run the command again for a new code`,
      );
    }
    throw new DeviceFlowError(
      "timeout",
      `timed out after ${seconds(opts.timeoutMs)} waiting for the sign-in to be approved`,
    );
  };
  for (;;) {
    const left = deadline - clock.now();
    if (left <= 0) stop();
    const wait = Math.min(intervalS * 1000, left);
    opts.onWait?.(wait);
    await clock.sleep(wait);
    if (clock.now() >= deadline) stop();
    const signal = AbortSignal.timeout(opts.requestTimeoutMs ?? 60_000);
    const outcome = await grant.poll(signal);
    if (outcome.status === "done") return outcome.tokens;
    if (outcome.status === "slow_down") {
      // RFC 8628 §3.5: +5 s for this and every later poll; a server that names its new
      // interval (GitHub does) is taken at its word when that is slower still.
      intervalS = Math.max(intervalS + SLOW_DOWN_STEP_S, outcome.interval_s ?? 0);
    }
  }
}

/** "90 s" / "15 min" for messages. */
function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 120 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

/** A positive interval in seconds from a JSON value (a number or a numeric string), else undefined. */
export function parseInterval(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() ? Number(v) : NaN;
  // Whole seconds, at least 1: a server saying 0 (or 0.01) must not make ccmux hammer it.
  return Number.isFinite(n) && n > 0 ? Math.max(1, Math.ceil(n)) : undefined;
}
