// A stub Anthropic upstream on 127.0.0.1:0 for tests and benchmarks: records every request
// (method, url, headers, body bytes), answers with JSON or SSE (status, headers, pauses or gates
// between events, a break-off after N events), and notices when its client aborts.
import { Buffer } from "node:buffer";
import { connect, createServer, type Socket } from "node:net";
import { startServer } from "../../src/runtime/serve.ts";

/** One request the stub received. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. "/v1/messages?beta=true". */
  url: string;
  /** Lower-case names; an object without a prototype. */
  headers: Record<string, string>;
  body: Uint8Array;
  /** The body as JSON (undefined when it is not JSON). */
  json: Record<string, unknown> | undefined;
  /** Every byte of the response body the stub sent (filled in as it goes). */
  sent: Uint8Array[];
  /** True once the client went away before the response body was complete. */
  aborted: boolean;
  /** Resolves when the response body ended: "done", "aborted" or "broken" (break-off). */
  finished: Promise<"done" | "aborted" | "broken">;
}

/** An SSE event: raw text (sent as is) or an event name with JSON data. */
export type StubEvent = string | { event: string; data: unknown };

/** How the stub answers one request. */
export interface StubReply {
  status?: number;
  headers?: Record<string, string>;
  /** A JSON body (content-type application/json). */
  json?: unknown;
  /** A raw body. */
  body?: string;
  /** SSE events, each written as its own chunk (content-type text/event-stream). */
  events?: StubEvent[];
  /** Pause before each event after the first. */
  delayMs?: number;
  /** Awaited before event i (i ≥ 1) is sent: lets a test check arrival before the next. */
  gate?: (i: number) => Promise<void>;
  /** Break the connection off after this many events (an upstream failure mid-stream). */
  breakAfter?: number;
}

/** A running stub. */
export interface UpstreamStub {
  /** "http://127.0.0.1:PORT" */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Replaces the answer function. */
  reply(fn: StubHandler | StubReply): void;
  /** All response bytes sent for request `i`, joined. */
  sentBytes(i?: number): Uint8Array;
  close(): Promise<void>;
}

export type StubHandler = (req: RecordedRequest, index: number) => StubReply | Promise<StubReply>;

/** A JSON Messages API answer. */
export function messageJson(text = "Hello from the stub", model = "stub-model") {
  return {
    id: "msg_stub01",
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 5 },
  };
}

/** The SSE events of a streamed Messages API answer, one text delta per part. */
export function messageEvents(parts = ["Hello", " from", " the", " stub"], model = "stub-model") {
  const events: StubEvent[] = [
    {
      event: "message_start",
      data: {
        type: "message_start",
        message: {
          id: "msg_stub01",
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 12, output_tokens: 1 },
        },
      },
    },
    {
      event: "content_block_start",
      data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    },
  ];
  for (const text of parts) {
    events.push({
      event: "content_block_delta",
      data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } },
    });
  }
  events.push(
    { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
    {
      event: "message_delta",
      data: {
        type: "message_delta",
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: parts.length },
      },
    },
    { event: "message_stop", data: { type: "message_stop" } },
  );
  return events;
}

function encodeEvent(e: StubEvent): Uint8Array {
  return Buffer.from(
    typeof e === "string" ? e : `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`,
  );
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Options of startUpstreamStub. */
export interface StubOptions {
  /**
   * Check thinking blocks as Anthropic does: a `thinking` block whose signature this stub did
   * not issue (`isOwn` says no) gets 400 "messages.N.content.M: Invalid `signature` in
   * `thinking` block"; with thinking on, a tool loop whose last assistant turn does not start
   * with thinking gets Anthropic's 400 for that.
   */
  thinking?: { isOwn(signature: string): boolean };
}

function invalidRequest(message: string): StubReply {
  return {
    status: 400,
    json: { type: "error", error: { type: "invalid_request_error", message } },
  };
}

/** Anthropic's thinking-block rules (see StubOptions.thinking); undefined when they are kept. */
export function checkThinking(
  json: Record<string, unknown>,
  isOwn: (signature: string) => boolean,
): StubReply | undefined {
  const messages = Array.isArray(json.messages) ? json.messages as Record<string, unknown>[] : [];
  for (const [i, m] of messages.entries()) {
    if (!Array.isArray(m?.content)) continue;
    for (const [j, b] of (m.content as Record<string, unknown>[]).entries()) {
      if (b?.type === "thinking" && !(typeof b.signature === "string" && isOwn(b.signature))) {
        return invalidRequest(
          `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`,
        );
      }
    }
  }
  const t = json.thinking as Record<string, unknown> | undefined;
  const on = t?.type === "enabled" || t?.type === "adaptive";
  const last = messages[messages.length - 1];
  const loop = Array.isArray(last?.content) &&
    (last.content as Record<string, unknown>[]).some((b) => b?.type === "tool_result");
  if (on && loop) {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      if (m?.role !== "assistant" || !Array.isArray(m.content)) continue;
      const first = (m.content as Record<string, unknown>[])[0];
      if (first?.type !== "thinking" && first?.type !== "redacted_thinking") {
        return invalidRequest(
          `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but ` +
            `found \`${first?.type}\`. When \`thinking\` is enabled, a final \`assistant\` ` +
            `message must start with a thinking block (preceeding the lastmost set of ` +
            `\`tool_use\` and \`tool_result\` blocks). We recommend you include thinking ` +
            `blocks from previous turns. To avoid this requirement, disable \`thinking\`. ` +
            `Please consult our documentation at ` +
            `https://docs.claude.com/en/docs/build-with-claude/extended-thinking`,
        );
      }
      break;
    }
  }
  return undefined;
}

/** Starts a stub upstream. The default answer is `messageJson()`, or SSE when `stream: true`. */
export async function startUpstreamStub(
  handler?: StubHandler | StubReply,
  opts: StubOptions = {},
): Promise<UpstreamStub> {
  let answer: StubHandler = toHandler(handler);
  const requests: RecordedRequest[] = [];

  const fetch = async (request: Request): Promise<Response> => {
    const body = new Uint8Array(await request.arrayBuffer());
    // No prototype: a header named `constructor` or `__proto__` is recorded as sent.
    const headers: Record<string, string> = Object.create(null);
    request.headers.forEach((v, k) => (headers[k] = v));
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(Buffer.from(body).toString("utf8"));
    } catch {
      json = undefined;
    }
    const u = new URL(request.url);
    let settle!: (how: "done" | "aborted" | "broken") => void;
    const rec: RecordedRequest = {
      method: request.method,
      url: u.pathname + u.search,
      headers,
      body,
      json,
      sent: [],
      aborted: false,
      finished: new Promise((r) => (settle = r)),
    };
    const index = requests.push(rec) - 1;
    let settled = false;
    const settleOnce = settle;
    settle = (how) => {
      if (settled) return;
      settled = true;
      settleOnce(how);
    };
    // A client that leaves before the response is ready (a held JSON answer).
    request.signal.addEventListener("abort", () => {
      if (settled) return;
      rec.aborted = true;
      settle("aborted");
    });
    const rejected = opts.thinking && json ? checkThinking(json, opts.thinking.isOwn) : undefined;
    const reply = rejected ?? await answer(rec, index);
    const status = reply.status ?? 200;
    const outHeaders: Record<string, string> = { "request-id": `req_stub_${index}` };
    if (reply.events) {
      outHeaders["content-type"] = "text/event-stream; charset=utf-8";
      outHeaders["cache-control"] = "no-cache";
      const events = reply.events;
      let i = 0;
      let closed = false;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (closed) return;
          if (reply.breakAfter !== undefined && i >= reply.breakAfter) {
            // Let the status line and the first events go out before breaking off (a server
            // may hold back a response whose body fails at once and answer 500 instead).
            await wait(100);
            closed = true;
            settle("broken");
            controller.error(new Error("stub: broken off"));
            return;
          }
          if (i >= events.length) {
            closed = true;
            controller.close();
            settle("done");
            return;
          }
          if (i > 0) {
            if (reply.delayMs) await wait(reply.delayMs);
            if (reply.gate) await reply.gate(i);
          }
          if (closed) return;
          const bytes = encodeEvent(events[i++]);
          rec.sent.push(bytes);
          controller.enqueue(bytes);
        },
        cancel() {
          closed = true;
          rec.aborted = true;
          settle("aborted");
        },
      }, { highWaterMark: 0 });
      return new Response(stream, { status, headers: { ...outHeaders, ...reply.headers } });
    }
    let bytes: Uint8Array;
    if (reply.body !== undefined) bytes = Buffer.from(reply.body);
    else {
      outHeaders["content-type"] = "application/json";
      bytes = Buffer.from(JSON.stringify(reply.json ?? messageJson()));
    }
    rec.sent.push(bytes);
    settle("done");
    return new Response(bytes as BodyInit, {
      status,
      headers: { ...outHeaders, ...reply.headers },
    });
  };

  const server = await startServer({ hostname: "127.0.0.1", port: 0, fetch });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    requests,
    reply(fn) {
      answer = toHandler(fn);
    },
    sentBytes(i = requests.length - 1) {
      return Buffer.concat(requests[i].sent);
    },
    close: () => server.shutdown(2000),
  };
}

function toHandler(h: StubHandler | StubReply | undefined): StubHandler {
  if (typeof h === "function") return h;
  if (h) return () => h;
  return (
    req,
  ) => (req.json?.stream === true ? { events: messageEvents() } : { json: messageJson() });
}

/** A 127.0.0.1 port that refuses connections for as long as it is held. */
export interface RefusedPort {
  port: number;
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** Gives the port back (only then may another socket take it). */
  close(): Promise<void>;
}

/**
 * A port with nothing listening, kept reserved until `close()`: it is the local port of an open
 * TCP connection (to a throwaway listener), so no `listen(0)` can be handed it (unlike a port
 * freed by `close()`), while a connection to it is refused (ECONNREFUSED: no listener).
 */
export async function refusedPort(): Promise<RefusedPort> {
  const accepted: Socket[] = [];
  const holder = createServer((s) => {
    s.on("error", () => {});
    accepted.push(s);
  });
  await new Promise<void>((resolve, reject) => {
    holder.once("error", reject);
    holder.listen(0, "127.0.0.1", resolve);
  });
  const to = (holder.address() as { port: number }).port;
  const client = connect({ host: "127.0.0.1", port: to });
  client.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
  });
  const port = client.localPort!;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      client.destroy();
      for (const s of accepted) s.destroy();
      await new Promise((r) => holder.close(r));
    },
  };
}

/** One window of Anthropic's unified rate-limit headers: its status, utilization and reset. */
export interface UnifiedWindow {
  status?: "allowed" | "allowed_warning" | "rejected";
  /** A fraction, 0..1. */
  utilization?: number;
  /** Epoch ms. */
  reset?: number;
}

/**
 * Anthropic's `anthropic-ratelimit-unified-*` headers as a subscription answer carries them;
 * each part optional. Resets as Unix seconds, or RFC 3339 with `rfc3339: true`.
 */
export function unifiedHeaders(opts: {
  status?: "allowed" | "allowed_warning" | "rejected";
  reset?: number;
  claim?: string;
  h5?: UnifiedWindow;
  d7?: UnifiedWindow;
  rfc3339?: boolean;
  retryAfter?: number;
}): Record<string, string> {
  const p = "anthropic-ratelimit-unified-";
  const time = (ms: number) =>
    opts.rfc3339 ? new Date(ms).toISOString() : String(Math.ceil(ms / 1000));
  const h: Record<string, string> = {};
  if (opts.status) h[`${p}status`] = opts.status;
  if (opts.reset !== undefined) h[`${p}reset`] = time(opts.reset);
  if (opts.claim) h[`${p}representative-claim`] = opts.claim;
  for (const [name, w] of [["5h", opts.h5], ["7d", opts.d7]] as const) {
    if (!w) continue;
    if (w.status) h[`${p}${name}-status`] = w.status;
    if (w.utilization !== undefined) h[`${p}${name}-utilization`] = String(w.utilization);
    if (w.reset !== undefined) h[`${p}${name}-reset`] = time(w.reset);
  }
  if (opts.retryAfter !== undefined) h["retry-after"] = String(opts.retryAfter);
  return h;
}

/** Anthropic's 429 for a used-up subscription window. */
export function rateLimitError(message = "This request would exceed your account's rate limit.") {
  return { type: "error", error: { type: "rate_limit_error", message } };
}
