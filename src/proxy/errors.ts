// Errors made by ccmux itself, in Anthropic's shape so clients (Claude Code) show them well.

/** Anthropic error type for an HTTP status. */
export function errorType(status: number): string {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 504:
      return "timeout_error";
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

/** The JSON text of an Anthropic error body. */
export function errorBody(status: number, message: string, type = errorType(status)): string {
  return JSON.stringify({ type: "error", error: { type, message } });
}

/** A ccmux-made error response: `{"type":"error","error":{"type":…,"message":…}}`. */
export function errorResponse(status: number, message: string, type?: string): Response {
  return new Response(errorBody(status, message, type), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The SSE event that ends a stream whose upstream failed after the first byte. */
export function sseErrorEvent(message: string): string {
  return `event: error\ndata: ${errorBody(502, message, "api_error")}\n\n`;
}

/**
 * A token problem as the client should see it: a missing or dead sign-in is the user's to fix
 * (401 naming `ccmux login ID`); a failed refresh is an upstream failure (502) with its cause.
 * Both messages are secret-free: they name the account and the token server, never a token.
 */
export function tokenErrorResponse(e: Error, id: string): Response {
  if (e.name === "LoginRequiredError") return errorResponse(401, `ccmux: ${e.message}`);
  return errorResponse(502, `ccmux: refreshing the OAuth token for '${id}' failed: ${e.message}`);
}
