// Device sign-in per RFC 8628 on oauth4webapi's device functions, for kind `oidc` (the device
// endpoint from discovery, or device_authorization_url) and kind `github-copilot` (GitHub's
// device flow). Both feed the shared poller (src/auth/device.ts).
//
// GitHub deviates from the RFC: it answers a pending (or slowed-down, refused, expired) poll with
// HTTP 200 and an `error` member, which oauth4webapi would take for a malformed token response.
// Its customFetch turns such an answer into the 400 the RFC prescribes before oauth4webapi sees
// it, so one code path handles both servers.
import * as oauth from "oauth4webapi";
import type { ResolvedOAuth } from "./kinds.ts";
import {
  checkEndpoint,
  describeError,
  insecure,
  LoginError,
  NETWORK_TIMEOUT_MS,
  type PkceSession,
  tokenFetch,
} from "./pkce_flow.ts";
import { RedirectRefusedError } from "./no_redirect.ts";
import {
  DEFAULT_INTERVAL_S,
  deviceErrorOutcome,
  type DeviceGrant,
  parseInterval,
  type PollOutcome,
} from "./device.ts";

/** What `ccmux login` says when a github-copilot account has no client_id. */
export function githubClientIdHelp(r: ResolvedOAuth): string {
  const d = r.domain ?? "github.com";
  return `account '${r.id}' (kind "github-copilot") needs the client_id of your own GitHub ` +
    `OAuth App with device flow enabled: on https://${d}/settings/developers choose "New OAuth ` +
    `App" (any homepage and callback URL), tick "Enable Device Flow", register it, and put its ` +
    `Client ID in the config as [oauth.${r.id}] client_id = "..." (an organisation can register ` +
    'one for all its members; see docs/OAUTH_SETUP.md, "GitHub Copilot")';
}

/** Kind oidc: the device endpoint from discovery (or device_authorization_url). */
export function startOidcDevice(s: PkceSession): Promise<DeviceGrant> {
  const url = s.resolved.device_authorization_url ?? s.as.device_authorization_endpoint;
  if (!url) {
    const where = s.resolved.issuer ? ` at ${s.resolved.issuer}` : "";
    throw new LoginError(
      `the authorization server${where} offers no device sign-in (its discovery document has ` +
        "no device_authorization_endpoint): use the browser sign-in (ccmux login ID, or " +
        "--paste), or set [oauth.ID] device_authorization_url if it has one elsewhere",
    );
  }
  return startRfc8628(s, url, s.fetch);
}

/** Kind github-copilot: GitHub's device flow (pending polls answered with HTTP 200). */
export function startGithubDevice(s: PkceSession): Promise<DeviceGrant> {
  if (!s.resolved.client_id) throw new LoginError(githubClientIdHelp(s.resolved));
  return startRfc8628(
    s,
    s.resolved.device_authorization_url ?? "",
    githubErrorsAsStatus(s.fetch),
    "GitHub",
  );
}

async function startRfc8628(
  s: PkceSession,
  deviceUrl: string,
  fetchFn: typeof fetch,
  server = "the authorization server",
): Promise<DeviceGrant> {
  const device = checkEndpoint(deviceUrl, "device_authorization_url");
  const token = checkEndpoint(s.as.token_endpoint ?? s.resolved.token_url, "token_url");
  const as: oauth.AuthorizationServer = {
    ...s.as,
    device_authorization_endpoint: device.href,
    token_endpoint: token.href,
  };
  const base = {
    [oauth.customFetch]: tokenFetch(fetchFn, false),
    [oauth.allowInsecureRequests]: insecure(device.href) || insecure(token.href),
  };
  let started: oauth.DeviceAuthorizationResponse;
  try {
    const res = await oauth.deviceAuthorizationRequest(
      as,
      s.client,
      oauth.None(),
      { scope: s.resolved.scopes.join(" ") },
      { ...base, signal: () => AbortSignal.timeout(NETWORK_TIMEOUT_MS) },
    );
    started = await oauth.processDeviceAuthorizationResponse(as, s.client, res);
  } catch (e) {
    throw new LoginError(startFailure(e, device, server));
  }
  const userCode = started.user_code;
  return {
    user_code: userCode,
    verification_uri: started.verification_uri,
    verification_uri_complete: started.verification_uri_complete,
    interval_s: parseInterval(started.interval) ?? DEFAULT_INTERVAL_S,
    expires_in_s: started.expires_in > 0 ? started.expires_in : 900,
    poll: async (signal): Promise<PollOutcome> => {
      try {
        const res = await oauth.deviceCodeGrantRequest(
          as,
          s.client,
          oauth.None(),
          started.device_code,
          { ...base, signal },
        );
        return { status: "done", tokens: await oauth.processDeviceCodeResponse(as, s.client, res) };
      } catch (e) {
        if (!(e instanceof oauth.ResponseBodyError)) {
          if (e instanceof RedirectRefusedError) throw e;
          throw new LoginError(`polling ${server} for the sign-in failed: ${describeError(e)}`);
        }
        const outcome = deviceErrorOutcome(e.error, e.cause?.interval, userCode);
        if (outcome) return outcome;
        if (e.error === "device_flow_disabled") {
          throw new LoginError(
            "the OAuth App does not allow the device flow (device_flow_disabled): tick " +
              `"Enable Device Flow" in its settings`,
          );
        }
        const desc = e.error_description ? `: ${e.error_description.slice(0, 200)}` : "";
        throw new LoginError(`${server} refused the sign-in (${e.error}${desc})`);
      }
    },
  };
}

function startFailure(e: unknown, url: URL, server: string): string {
  if (e instanceof RedirectRefusedError) return e.message;
  const where = `${url.origin}${url.pathname}`;
  const status = e instanceof oauth.ResponseBodyError
    ? e.status
    : e instanceof oauth.OperationProcessingError && e.cause instanceof Response
    ? e.cause.status
    : 0;
  if (status === 404) {
    return `device sign-in is not available at ${where} (HTTP 404): check the client_id ` +
      "(GitHub answers 404 for an unknown OAuth App) and device_authorization_url";
  }
  if (e instanceof oauth.ResponseBodyError) {
    if (e.error === "device_flow_disabled") {
      return "the OAuth App does not allow the device flow (device_flow_disabled): tick " +
        `"Enable Device Flow" in its settings`;
    }
    const desc = e.error_description ? `: ${e.error_description.slice(0, 200)}` : "";
    return `${server} refused to start the device sign-in at ${where} (HTTP ${e.status}, ` +
      `${e.error}${desc})`;
  }
  if (
    e instanceof oauth.OperationProcessingError && e.code === oauth.RESPONSE_IS_NOT_CONFORM &&
    e.cause instanceof Response
  ) {
    return `the device sign-in endpoint ${where} answered HTTP ${e.cause.status}`;
  }
  return `starting the device sign-in at ${where} failed: ${describeError(e)}`;
}

/**
 * `fetchFn` where a 200 answer whose JSON has an `error` member and no `access_token` / no
 * `device_code` becomes a 400 with the same body: GitHub's way of answering errors.
 */
export function githubErrorsAsStatus(fetchFn: typeof fetch): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetchFn(input, init);
    if (res.status !== 200) return res;
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const b = body as Record<string, unknown> | undefined;
    const isError = !!b && typeof b === "object" && typeof b.error === "string" &&
      b.access_token === undefined && b.device_code === undefined;
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    if (isError) headers.set("content-type", "application/json");
    return new Response(text, {
      status: isError ? 400 : res.status,
      statusText: isError ? "Bad Request" : res.statusText,
      headers,
    });
  }) as typeof fetch;
}
