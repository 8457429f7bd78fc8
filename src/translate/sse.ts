// Server-sent events, incrementally: bytes in as they arrive, one callback per event. The
// TextDecoder runs in streaming mode, so a multi-byte UTF-8 character split across network
// chunks is decoded whole once its last byte arrives.

/** Called once per complete event: its data (data lines joined by "\n") and event name. */
export type SseHandler = (data: string, event: string) => void;

/** An incremental SSE parser (WHATWG rules: LF, CRLF or CR line ends; ":" comments). */
export class SseParser {
  #decoder = new TextDecoder("utf-8");
  #pending = "";
  #data = "";
  #hasData = false;
  #event = "";

  constructor(private readonly onEvent: SseHandler) {}

  /** Feeds one chunk of bytes; calls the handler for every event it completes. */
  push(chunk: Uint8Array): void {
    this.#lines(this.#decoder.decode(chunk, { stream: true }));
  }

  /** The stream ended: flushes the decoder and dispatches a last event left unterminated. */
  end(): void {
    const rest = this.#decoder.decode();
    this.#lines(rest);
    if (this.#pending !== "") {
      const line = this.#pending.endsWith("\r") ? this.#pending.slice(0, -1) : this.#pending;
      this.#pending = "";
      this.#line(line);
    }
    this.#dispatch();
  }

  #lines(decoded: string): void {
    let text = this.#pending === "" ? decoded : this.#pending + decoded;
    let hold = "";
    if (text.includes("\r")) {
      // A final CR may be the first half of a CRLF whose LF is in the next chunk.
      if (text.endsWith("\r")) {
        hold = "\r";
        text = text.slice(0, -1);
      }
      text = text.replace(/\r\n?/g, "\n");
    }
    let pos = 0;
    let nl: number;
    while ((nl = text.indexOf("\n", pos)) !== -1) {
      this.#line(text.slice(pos, nl));
      pos = nl + 1;
    }
    this.#pending = (pos === 0 ? text : text.slice(pos)) + hold;
  }

  #line(line: string): void {
    if (line === "") {
      this.#dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* ":" comment, e.g. keep-alives */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") {
      this.#data = this.#hasData ? this.#data + "\n" + value : value;
      this.#hasData = true;
    } else if (field === "event") {
      this.#event = value;
    }
  }

  #dispatch(): void {
    if (this.#hasData) this.onEvent(this.#data, this.#event);
    this.#data = "";
    this.#hasData = false;
    this.#event = "";
  }
}

/** One SSE event as text: `event: TYPE\ndata: JSON\n\n` (the JSON must be one line). */
export function sseEvent(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`;
}
