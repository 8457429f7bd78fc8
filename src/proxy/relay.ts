// Runs an upstream-stream translator (a ChunkTransform: Chat Completions or Responses →
// Anthropic) over either transport: node:http's raw body on Node, a web stream on Deno (read as
// a RawBody too). The translators commit late (nothing is written before the first content
// block), and so does the relay: until the translator produces its first text the upstream body
// is read and nothing is answered, so a failure reported at the start of the stream (an error
// chunk, a usage limit, an overload, a retired model, an end with nothing said) becomes an
// error response the dispatcher can still fail over on. From the first text on, the answer is
// a 200 stream fed as upstream chunks arrive, with backpressure; on Node it is a raw body the
// server writes straight to the socket (no web stream). Once the translator is done the rest of
// the upstream body is drained (for DRAIN_MS at most), so the upstream connection stays
// reusable.
import { Buffer } from "node:buffer";
import type { ChunkTransform } from "../translate/chunk_transform.ts";
import type { UpstreamFailure } from "../translate/failure.ts";
import {
  type RawBody,
  type RawBodyHandlers,
  rawResponse,
  takeRawBody,
} from "../runtime/http_client.ts";
import { errorResponse } from "./errors.ts";
import { redactSecrets } from "./redact.ts";

/** How long the rest of a body may take to end after the translator is done, before it is cut. */
const DRAIN_MS = 5000;

/** A web stream read as a RawBody (start / pause / resume / cancel). */
function webSource(body: ReadableStream<Uint8Array>): RawBody {
  const reader = body.getReader();
  let h: RawBodyHandlers;
  let paused = false;
  let running = false;
  let stopped = false;
  const run = async () => {
    if (running || stopped) return;
    running = true;
    try {
      while (!paused && !stopped) {
        const r = await reader.read();
        if (stopped) return;
        if (r.done) {
          stopped = true;
          h.end();
          return;
        }
        h.data(r.value);
      }
    } catch (e) {
      if (!stopped) {
        stopped = true;
        h.error(e instanceof Error ? e : new Error(String(e)));
      }
    } finally {
      running = false;
    }
  };
  return {
    start(handlers) {
      h = handlers;
      void run();
    },
    pause: () => void (paused = true),
    resume() {
      paused = false;
      void run();
    },
    cancel() {
      stopped = true;
      reader.cancel().catch(() => {});
    },
  };
}

/** The upstream body of `res` as a RawBody, whichever transport it came over. */
function bodySource(res: Response): { src: RawBody; node: boolean } | undefined {
  const raw = takeRawBody(res);
  if (raw) return { src: raw, node: true };
  return res.body ? { src: webSource(res.body), node: false } : undefined;
}

export type TransformOutcome = { failure: UpstreamFailure } | { response: Response };

/**
 * Feeds `res`'s body to `t` until it commits (→ a 200 streamed response with `headers`) or
 * fails first (→ the failure; the upstream body is dropped).
 */
export function relayTransform(
  res: Response,
  t: ChunkTransform,
  headers: Headers,
): Promise<TransformOutcome> {
  const body = bodySource(res);
  if (!body) {
    return Promise.resolve({
      failure: { status: 502, type: "api_error", message: "the upstream sent no body" },
    });
  }
  const { src, node } = body;
  return new Promise((resolve) => {
    let settled = false;
    let out: RawBodyHandlers | undefined;
    let pending = "";
    let finished = false;
    let srcEnded = false;
    let drain: ReturnType<typeof setTimeout> | undefined;

    const finish = () => {
      if (finished || !out) return;
      finished = true;
      if (pending) out.data(Buffer.from(pending));
      pending = "";
      out.end();
      if (!srcEnded) {
        // Read the rest (no more than DRAIN_MS), so the upstream connection stays reusable.
        src.resume();
        drain = setTimeout(() => src.cancel(), DRAIN_MS);
        (drain as { unref?: () => void }).unref?.();
      }
    };
    const emit = (text: string) => {
      if (!settled) {
        const failure = t.failure ??
          (t.done && !text
            ? { status: 502, type: "api_error", message: "the upstream stream carried no answer" }
            : undefined);
        if (failure) {
          settled = true;
          if (!srcEnded) src.cancel();
          resolve({ failure });
          return;
        }
        if (!text) return; // keep reading: nothing committed yet
        settled = true;
        pending = text;
        src.pause(); // until the client's side starts reading
        resolve({ response: respond() });
        if (t.done) finish();
        return;
      }
      if (finished) return;
      if (out) {
        if (text) out.data(Buffer.from(text));
      } else pending += text;
      if (t.done) finish();
    };

    const outBody: RawBody = {
      start(h) {
        out = h;
        if (t.done || finished) {
          finish();
          return;
        }
        if (pending) h.data(Buffer.from(pending));
        pending = "";
        src.resume();
      },
      pause: () => src.pause(),
      resume: () => {
        if (!finished) src.resume();
      },
      cancel() {
        finished = true;
        if (drain !== undefined) clearTimeout(drain);
        if (!srcEnded) src.cancel();
      },
    };

    const respond = (): Response => {
      if (node) return rawResponse(200, headers, outBody);
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          outBody.start({
            data(b) {
              c.enqueue(b);
              if (c.desiredSize !== null && c.desiredSize <= 0) outBody.pause();
            },
            end: () => c.close(),
            error: (e) => c.error(e),
          });
        },
        pull: () => outBody.resume(),
        cancel: () => outBody.cancel(),
      }, { highWaterMark: 0 });
      return new Response(stream, { status: 200, headers });
    };

    src.start({
      data(chunk) {
        if (t.done) return;
        emit(t.push(chunk));
      },
      end() {
        srcEnded = true;
        if (drain !== undefined) clearTimeout(drain);
        if (!t.done) emit(t.end());
      },
      error(e) {
        srcEnded = true;
        if (drain !== undefined) clearTimeout(drain);
        if (!t.done) emit(t.error(e));
      },
    });
  });
}

/**
 * A failure met before the first byte as the client's error: its status and Anthropic type,
 * the message naming the provider (its credential masked) and a retry-after when it said one.
 */
export function failureResponse(
  f: UpstreamFailure,
  provider: string,
  credential: string | undefined,
): Response {
  const res = errorResponse(
    f.status,
    `${provider}: ${redactSecrets(f.message, credential)}`,
    f.type,
  );
  if (f.retryAfterSeconds !== undefined) {
    res.headers.set("retry-after", String(Math.max(1, Math.ceil(f.retryAfterSeconds))));
  }
  return res;
}

/** A collector of a whole upstream stream (for a client that did not ask to stream). */
export interface Collecting {
  push(chunk: Uint8Array): void;
  end(): void;
  error(err: unknown): void;
  readonly done: boolean;
}

/** Feeds `res`'s whole body to `c`; resolves once `c` is done or the body ended. */
export function collectBody(res: Response, c: Collecting): Promise<void> {
  const body = bodySource(res);
  if (!body) {
    c.end();
    return Promise.resolve();
  }
  const { src } = body;
  return new Promise((resolve) => {
    let over = false;
    let drain: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      if (over) return;
      over = true;
      resolve();
    };
    const ended = () => {
      if (drain !== undefined) clearTimeout(drain);
    };
    src.start({
      data(chunk) {
        if (over) return;
        c.push(chunk);
        if (!c.done) return;
        stop();
        // The answer is whole; read the rest of the body (no more than DRAIN_MS) rather than
        // cutting it, so the upstream connection stays reusable.
        drain = setTimeout(() => src.cancel(), DRAIN_MS);
        (drain as { unref?: () => void }).unref?.();
      },
      end() {
        ended();
        if (over) return;
        c.end();
        stop();
      },
      error(e) {
        ended();
        if (over) return;
        c.error(e);
        stop();
      },
    });
  });
}
