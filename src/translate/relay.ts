// Runs any ChunkTransform (Chat Completions or Responses → Anthropic) over an upstream body:
// a web ReadableStream (Deno, and Node when the raw body is not available) or node:http's raw
// body (RawBody, no web stream and no per-chunk promise on the upstream side). Both give the
// same output: the transform's text, encoded once per upstream chunk. No I/O of its own: the
// caller hands in the body and returns the stream; cancelling it cancels the upstream.
import type { RawBody } from "../runtime/http_client.ts";
import type { ChunkTransform } from "./chunk_transform.ts";

/**
 * The transform's output for a web stream body. Reads only as fast as the client takes the
 * output (backpressure); once the transform is done the upstream is cancelled, and a failed
 * read is handed to `t.error()`.
 */
export function relayStream(
  upstream: ReadableStream<Uint8Array>,
  t: ChunkTransform,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const reader = upstream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        let text: string;
        let ended = false;
        try {
          const result = await reader.read();
          ended = result.done;
          text = result.done ? t.end() : t.push(result.value);
        } catch (err) {
          ended = true;
          text = t.error(err);
        }
        if (text) controller.enqueue(encoder.encode(text));
        if (ended || t.done) {
          controller.close();
          if (!ended) reader.cancel().catch(() => {});
          return;
        }
        if (controller.desiredSize !== null && controller.desiredSize <= 0) return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** How long a body still flowing after the transform is done may take to end before it is cut. */
const DRAIN_MS = 5000;

/**
 * relayStream for a body read straight from node:http (takeRawBody). Once the transform is
 * done (message_stop, an error event) the rest of the body is drained rather than cut, so the
 * upstream connection stays reusable (it is cut if it has not ended after DRAIN_MS).
 */
export function relayRawBody(raw: RawBody, t: ChunkTransform): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let closed = false;
  let ended = false;
  let drain: ReturnType<typeof setTimeout> | undefined;
  const finished = () => {
    ended = true;
    if (drain !== undefined) clearTimeout(drain);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const flush = (text: string) => {
        if (closed) return;
        if (text) controller.enqueue(encoder.encode(text));
        if (ended || t.done) {
          closed = true;
          controller.close();
          if (!ended) {
            raw.resume();
            drain = setTimeout(() => {
              if (!ended) raw.cancel();
            }, DRAIN_MS);
            (drain as { unref?: () => void }).unref?.();
          }
          return;
        }
        if (controller.desiredSize !== null && controller.desiredSize <= 0) raw.pause();
      };
      raw.start({
        data(chunk) {
          if (!closed && !t.done) flush(t.push(chunk));
        },
        end() {
          finished();
          if (!closed && !t.done) flush(t.end());
        },
        error(err) {
          finished();
          if (!closed && !t.done) flush(t.error(err));
        },
      });
    },
    pull() {
      if (!closed) raw.resume();
    },
    cancel() {
      closed = true;
      if (!ended) {
        finished();
        raw.cancel();
      }
    },
  });
}
