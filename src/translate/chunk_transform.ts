// The shape every upstream-stream translator has (Chat Completions: stream.ts; Responses:
// responses/stream.ts), so that one relay (proxy/relay.ts) runs any of them over either
// transport (node:http's raw body on Node, a web ReadableStream on Deno): bytes in as they
// arrive, Anthropic SSE text out, and a failure met before the first byte reported instead of
// written, so the caller can answer it with an error status.
import { AnthropicStreamWriter, SseSink } from "./anthropic_writer.ts";
import type { UpstreamFailure } from "./failure.ts";
import { SseParser } from "./sse.ts";

/** Upstream bytes in, Anthropic SSE text out; `done` once nothing more will be written. */
export interface ChunkTransform {
  /** One network chunk (split anywhere, even inside a UTF-8 character). */
  push(chunk: Uint8Array): string;
  /** The upstream body ended normally. */
  end(): string;
  /** The upstream connection failed. */
  error(err: unknown): string;
  readonly done: boolean;
  /** A failure met before the first byte (then nothing was or will be written, and `done`). */
  readonly failure: UpstreamFailure | undefined;
}

/** A protocol's stream reader (Chat: ChatReader; Responses: ResponsesReader), fed SSE payloads. */
export interface StreamReader {
  /** One SSE data payload. */
  data(payload: string): void;
  /** The upstream body ended. */
  end(): void;
  /** The upstream connection failed. */
  abort(err: unknown): void;
  /** Nothing more will be read (message_stop, an error event, or a failure). */
  readonly finished: boolean;
  /** The upstream failure, if there was one (before or after the first byte). */
  readonly failure: UpstreamFailure | undefined;
}

/**
 * The ChunkTransform of an SSE upstream: bytes → SseParser → the protocol's reader →
 * AnthropicStreamWriter → Anthropic SSE text. Each protocol only supplies its reader.
 */
export class SseReaderTransform implements ChunkTransform {
  #sink = new SseSink();
  #writer: AnthropicStreamWriter;
  #reader: StreamReader;
  #parser: SseParser;

  constructor(
    opts: { model: string; inputTokens?: number },
    reader: (writer: AnthropicStreamWriter) => StreamReader,
  ) {
    this.#writer = new AnthropicStreamWriter(this.#sink, opts);
    this.#reader = reader(this.#writer);
    this.#parser = new SseParser((data) => this.#reader.data(data));
  }

  /** True once nothing more will be written (message_stop, an error event, or a failure). */
  get done(): boolean {
    return this.#reader.finished;
  }

  /** True once the first Anthropic byte was produced: from then on failures are error events. */
  get committed(): boolean {
    return this.#writer.committed;
  }

  /** An upstream failure met before the first byte (nothing was or will be written). */
  get failure(): UpstreamFailure | undefined {
    return this.#writer.committed ? undefined : this.#reader.failure;
  }

  push(chunk: Uint8Array): string {
    if (!this.#reader.finished) this.#parser.push(chunk);
    return this.#sink.take();
  }

  end(): string {
    if (!this.#reader.finished) {
      this.#parser.end();
      this.#reader.end();
    }
    return this.#sink.take();
  }

  error(err: unknown): string {
    this.#reader.abort(err);
    return this.#sink.take();
  }
}
