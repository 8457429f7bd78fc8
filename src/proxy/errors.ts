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

/** A token problem as the client should see it. Messages name the account, never a token. */
export function tokenErrorResponse(e: unknown, id: string): Response {
  const name = (e as Error)?.name;
  if (name === "LoginRequiredError") {
    return errorResponse(
      401,
      `ccmux: the OAuth sign-in for '${id}' is missing or expired; run \`ccmux login ${id}\``,
    );
  }
  if (name === "RefreshError") {
    return errorResponse(502, `ccmux: refreshing the OAuth token for '${id}' failed`);
  }
  throw e;
}
