// OpenAI's own device sign-in for kind `openai` (what `codex login --device-auth` does; it is not
// RFC 8628): POST {device_authorization_url} with JSON {client_id} gives a device_auth_id, a user
// code and an interval; the user types the code at {origin}/codex/device; ccmux polls the
// `token` endpoint beside the start URL with {device_auth_id, user_code} (403 or 404 = not yet
// approved) until it answers 2xx with an authorization code and the PKCE verifier the server
// chose, which are exchanged at token_url with redirect_uri {origin}/deviceauth/callback.
import type { PkceSession } from "./pkce_flow.ts";
import { RedirectRefusedError } from "./no_redirect.ts";
import { checkEndpoint, exchangeIssuedCode, LoginError, NETWORK_TIMEOUT_MS } from "./pkce_flow.ts";
import {
  DEFAULT_INTERVAL_S,
  deviceErrorOutcome,
  type DeviceGrant,
  parseInterval,
  type PollOutcome,
} from "./device.ts";

/** How long OpenAI's device codes live (its own client gives up after 15 minutes too). */
export const OPENAI_DEVICE_CODE_LIFETIME_S = 15 * 60;

/** The endpoints of one OpenAI device sign-in, all derived from the start URL. */
export function openaiDeviceEndpoints(startUrl: URL): {
  start: URL;
  poll: URL;
  verification: URL;
  redirectUri: string;
} {
  return {
    start: startUrl,
    poll: new URL("token", startUrl),
    verification: new URL("/codex/device", startUrl.origin),
    redirectUri: new URL("/deviceauth/callback", startUrl.origin).href,
  };
}

export async function startOpenAIDevice(s: PkceSession): Promise<DeviceGrant> {
  const ep = openaiDeviceEndpoints(
    checkEndpoint(s.resolved.device_authorization_url, "device_authorization_url"),
  );
  const where = `${ep.start.origin}${ep.start.pathname}`;
  const res = await postJson(s, ep.start, { client_id: s.client.client_id }, undefined);
  const body = await jsonBody(res);
  if (!res.ok) {
    if (res.status === 404) {
      throw new LoginError(
        `device sign-in is not available at ${where} (HTTP 404); use the browser sign-in ` +
          "(ccmux login ID, or --paste) or check device_authorization_url",
      );
    }
    throw new LoginError(`the device sign-in endpoint ${where} answered ${describe(res, body)}`);
  }
  const deviceAuthId = str(body?.device_auth_id);
  const userCode = str(body?.user_code) ?? str(body?.usercode);
  if (!deviceAuthId || !userCode) {
    throw new LoginError(
      `the device sign-in endpoint ${where} answered without a device_auth_id and user code`,
    );
  }
  return {
    user_code: userCode,
    verification_uri: ep.verification.href,
    interval_s: parseInterval(body?.interval) ?? DEFAULT_INTERVAL_S,
    expires_in_s: OPENAI_DEVICE_CODE_LIFETIME_S,
    poll: async (signal): Promise<PollOutcome> => {
      const res = await postJson(s, ep.poll, {
        device_auth_id: deviceAuthId,
        user_code: userCode,
      }, signal);
      const body = await jsonBody(res);
      if (res.ok) {
        const code = str(body?.authorization_code);
        const verifier = str(body?.code_verifier);
        if (!code || !verifier) {
          throw new LoginError(
            "the device sign-in was approved but the answer has no authorization_code and " +
              "code_verifier",
          );
        }
        return {
          status: "done",
          tokens: await exchangeIssuedCode(s, code, verifier, ep.redirectUri),
        };
      }
      // OpenAI answers "not approved yet" with 403 or 404.
      if (res.status === 403 || res.status === 404) return { status: "pending" };
      if (res.status === 429) return { status: "slow_down" };
      const outcome = deviceErrorOutcome(errorCode(body), body?.interval, userCode);
      if (outcome) return outcome;
      throw new LoginError(`the device token endpoint answered ${describe(res, body)}`);
    },
  };
}

/** POSTs JSON through the session's fetch (which refuses redirects). */
async function postJson(
  s: PkceSession,
  url: URL,
  body: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<Response> {
  try {
    return await s.fetch(url.href, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      signal: signal ?? AbortSignal.timeout(NETWORK_TIMEOUT_MS),
    });
  } catch (e) {
    if (e instanceof RedirectRefusedError) throw e;
    const why = (e as Error).name === "TimeoutError"
      ? "no answer in time"
      : ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;
    throw new LoginError(`device sign-in request to ${url.origin}${url.pathname} failed: ${why}`);
  }
}

async function jsonBody(res: Response): Promise<Record<string, unknown> | undefined> {
  const text = await res.text().catch(() => "");
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The error code of a failed answer: RFC 6749's `{"error": "…"}` or OpenAI's
 * `{"error": {"code": "…"}}`, mapped onto the RFC 8628 names where the meaning is the same.
 */
function errorCode(body: Record<string, unknown> | undefined): string | undefined {
  const e = body?.error;
  const raw = str(e) ??
    (e && typeof e === "object" ? str((e as Record<string, unknown>).code) : undefined) ??
    str(body?.code);
  if (!raw) return undefined;
  if (/^(access_denied|.*denied|.*rejected)$/i.test(raw)) return "access_denied";
  if (/^(expired_token|.*expired)$/i.test(raw)) return "expired_token";
  return raw;
}

/** "HTTP 500 (server_error)": the status and the error code, never the body. */
function describe(res: Response, body: Record<string, unknown> | undefined): string {
  const code = errorCode(body)?.slice(0, 80);
  return `HTTP ${res.status}${code ? ` (${code})` : ""}`;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() ? v.trim() : undefined;
}
