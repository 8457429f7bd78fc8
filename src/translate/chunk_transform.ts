// The shape every upstream-stream translator has (Chat Completions: stream.ts; Responses:
// responses/stream.ts), so that one relay (proxy/relay.ts) runs any of them over either
// transport (node:http's raw body on Node, a web ReadableStream on Deno): bytes in as they
// arrive, Anthropic SSE text out, and a failure met before the first byte reported instead of
// written, so the caller can answer it with an error status.
import type { UpstreamFailure } from "./failure.ts";

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
