// A whole Responses stream collected into one Anthropic message, for a client that did not ask
// to stream (the Codex backend only streams). Same reader and writer as the streaming path,
// writing into a message instead of SSE text, so both answers agree block for block.
import { AnthropicStreamWriter, MessageSink } from "../anthropic_writer.ts";
import { SseParser } from "../sse.ts";
import type { AnthropicMessage } from "../types.ts";
import type { UpstreamFailure } from "../failure.ts";
import { ResponsesReader, type ResponsesStreamOptions } from "./stream.ts";

export type CollectResult = { message: AnthropicMessage } | { failure: UpstreamFailure };

/** Feed it the upstream bytes (push / end / error), then read `result()`. */
export class ResponsesCollector {
  #sink = new MessageSink();
  #reader: ResponsesReader;
  #parser: SseParser;

  constructor(opts: ResponsesStreamOptions) {
    this.#reader = new ResponsesReader(new AnthropicStreamWriter(this.#sink, opts), opts);
    this.#parser = new SseParser((data) => this.#reader.data(data));
  }

  /** True once the outcome is known (the rest of the body may be discarded). */
  get done(): boolean {
    return this.#reader.finished;
  }

  push(chunk: Uint8Array): void {
    if (!this.#reader.finished) this.#parser.push(chunk);
  }

  end(): void {
    if (this.#reader.finished) return;
    this.#parser.end();
    this.#reader.end();
  }

  error(err: unknown): void {
    this.#reader.abort(err);
  }

  /**
   * The message, or the failure — also for one after content began: a client waiting for one
   * JSON answer is better served by an error status than by half a message.
   */
  result(): CollectResult {
    if (this.#reader.failure) return { failure: this.#reader.failure };
    const message = this.#sink.message;
    if (message) return { message };
    return {
      failure: { status: 502, type: "api_error", message: "the upstream stream has not ended" },
    };
  }
}

/** Collects a complete body at once (tests, and callers that already hold every byte). */
export function collectResponses(bytes: Uint8Array, opts: ResponsesStreamOptions): CollectResult {
  const c = new ResponsesCollector(opts);
  c.push(bytes);
  c.end();
  return c.result();
}
