// The admin API's own refusals, after serve's Host check: a foreign Origin (403), a
// non-loopback listener without allow_remote (403), a missing or wrong admin token (401, compared
// in constant time), a POST or DELETE that is not application/json (415: a cross-site form
// cannot send that type).
import { createHash, timingSafeEqual } from "node:crypto";
import type { Buffer } from "node:buffer";
import type { Config } from "../config/types.ts";
import { isLoopbackHost } from "../config/validate.ts";
import { errorResponse } from "../proxy/errors.ts";

export function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** The refusal for a request to /api/*, /admin or /callback, or undefined when it may pass. */
export function adminRefusal(
  req: Request,
  path: string,
  config: Config,
  tokenHash: Buffer,
): Response | undefined {
  const origin = req.headers.get("origin");
  if (origin !== null && origin !== `http://${(req.headers.get("host") ?? "").toLowerCase()}`) {
    return errorResponse(403, "ccmux: requests from other web origins are refused");
  }
  if (!isLoopbackHost(config.server.host) && !config.admin.allow_remote) {
    return errorResponse(
      403,
      "ccmux: the admin API answers only on a loopback listener (see admin.allow_remote)",
    );
  }
  if (!path.startsWith("/api/")) return undefined;
  const auth = req.headers.get("authorization") ?? "";
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
  if (!m || !timingSafeEqual(sha256(m[1]), tokenHash)) {
    return errorResponse(401, "ccmux: missing or wrong admin token (ccmux admin token)");
  }
  if (req.method === "POST" || req.method === "DELETE") {
    const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/json") {
      return errorResponse(
        415,
        "ccmux: send the request with Content-Type: application/json",
        "invalid_request_error",
      );
    }
  }
  return undefined;
}
