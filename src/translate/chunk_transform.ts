// The shape every upstream-stream translator has (Chat Completions: stream.ts; Responses:
// responses/stream.ts), so that relay.ts runs any of them over either transport (a web
// ReadableStream on Deno, node:http's raw body on Node): bytes in as they arrive, Anthropic SSE
// text out.

/** Upstream bytes in, Anthropic SSE text out; `done` once nothing more will be written. */
export interface ChunkTransform {
  /** One network chunk (split anywhere, even inside a UTF-8 character). */
  push(chunk: Uint8Array): string;
  /** The upstream body ended normally. */
  end(): string;
  /** The upstream connection failed. */
  error(err: unknown): string;
  readonly done: boolean;
}
