// Reading a pasted authorization response: `CODE#STATE` (Anthropic's code page) or the full
// callback URL from the address bar of a browser that could not reach this machine.
import { LoginError } from "./pkce_flow.ts";

/** Lines of a byte stream; `stop()` abandons it (the callback server won the race). */
export interface LineReader extends AsyncIterable<string> {
  stop(): void;
}

export function readLines(src: AsyncIterable<Uint8Array | string>): LineReader {
  const it = src[Symbol.asyncIterator]();
  const decoder = new TextDecoder();
  let stopped = false;
  let buf = "";
  async function* lines(): AsyncGenerator<string> {
    while (!stopped) {
      const r = await it.next();
      if (r.done || stopped) break;
      buf += typeof r.value === "string" ? r.value : decoder.decode(r.value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        yield line;
      }
    }
    if (buf && !stopped) yield buf;
  }
  return {
    [Symbol.asyncIterator]: lines,
    stop() {
      stopped = true;
      // Not awaited: a read may be pending on a terminal; the process exits after login anyway.
      it.return?.()?.catch(() => {});
    },
  };
}

/**
 * Turns a pasted line into authorization response parameters and the redirect_uri to
 * exchange them with: a URL carries its own; `CODE#STATE` uses `defaultRedirect`.
 */
export function parsePasted(
  line: string,
  defaultRedirect: string,
): { params: URLSearchParams; redirectUri: string } {
  const text = line.trim().replace(/^["']|["']$/g, "");
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new LoginError("the pasted text is not a valid URL");
    }
    if (!url.searchParams.has("code") && !url.searchParams.has("error")) {
      throw new LoginError(
        "the pasted URL has no code= or error= parameter; paste the full address",
      );
    }
    return { params: url.searchParams, redirectUri: `${url.origin}${url.pathname}` };
  }
  const hash = text.indexOf("#");
  if (hash <= 0 || hash === text.length - 1) {
    throw new LoginError(
      "the pasted code has no state: paste the whole CODE#STATE the page shows, " +
        "or the full address the browser ends on",
    );
  }
  const params = new URLSearchParams();
  params.set("code", text.slice(0, hash));
  params.set("state", text.slice(hash + 1));
  return { params, redirectUri: defaultRedirect };
}
