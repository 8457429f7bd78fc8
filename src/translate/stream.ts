// OpenAI Chat Completions stream (SSE bytes) → Anthropic Messages stream (SSE bytes),
// incrementally: every upstream chunk is parsed once and its events are written at once.
//
// Anthropic clients (Claude Code, the SDK) expect content blocks one after another: start,
// deltas, stop, then the next block. OpenAI may interleave tool calls (deltas for index 0
// after index 1 began) and cannot say when a tool call's arguments are complete. So the
// first open block streams live and later blocks are buffered until every block before them
// is closed: text and thinking close as soon as anything else follows them; tool calls close
// at finish_reason or the end of the stream (in practice, immediately after their arguments).
import { messageId, toolUseId } from "./ids.ts";
import { stopReason, textOf, usageOf } from "./response.ts";
import { sseEvent, SseParser } from "./sse.ts";
import type { RawBody } from "../runtime/http_client.ts";
import type {
  AnthropicUsage,
  OpenAIChatChunk,
  OpenAIResponseToolCall,
  StopReason,
} from "./types.ts";

export interface StreamOptions {
  /** The model name reported to the client. */
  model: string;
  /**
   * Input tokens for message_start (an estimate: OpenAI reports usage only at the end; the
   * real numbers follow in message_delta).
   */
  inputTokens?: number;
}

type Kind = "text" | "thinking" | "tool";

interface Segment {
  kind: Kind;
  /** Anthropic content block index, assigned when the block starts. */
  index: number;
  started: boolean;
  /** Nothing more will be appended (text/thinking followed by something, or finish). */
  complete: boolean;
  /** Content received while the block could not stream live yet. */
  buffered: string;
  /** Tool calls: the provider's index (or id) that later deltas refer to. */
  key?: string;
  id?: string;
  name?: string;
}

/** The translation state machine: OpenAI chunk payloads in, Anthropic SSE text out. */
export class StreamTranslator {
  #opts: StreamOptions;
  #out = "";
  #segments: Segment[] = [];
  #head = 0;
  #nextIndex = 0;
  #started = false;
  /** True after message_stop or an error event: nothing more is written. */
  done = false;
  #finish: string | null = null;
  #usage: AnthropicUsage | undefined;
  #outputChars = 0;
  #toolIds = new Set<string>();
  #hadTools = false;

  constructor(opts: StreamOptions) {
    this.#opts = opts;
  }

  /** Handles one SSE `data:` payload; returns the Anthropic SSE text it produces. */
  data(payload: string): string {
    if (this.done) return "";
    if (payload === "[DONE]") return this.end();
    let chunk: OpenAIChatChunk;
    try {
      chunk = JSON.parse(payload);
    } catch {
      return ""; // not a chunk (some providers send bare status lines); nothing to carry
    }
    if (!chunk || typeof chunk !== "object") return "";
    if (chunk.error !== undefined && chunk.error !== null) {
      return this.error(errorMessage(chunk.error), errorTypeOf(chunk.error));
    }
    if (!this.#started) this.#start(chunk);
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    const delta = choice?.delta;
    if (delta && typeof delta === "object") {
      const reasoning = typeof delta.reasoning_content === "string" && delta.reasoning_content
        ? delta.reasoning_content
        : typeof delta.reasoning === "string"
        ? delta.reasoning
        : "";
      if (reasoning) this.#appendText("thinking", reasoning);
      const text = textOf(delta.content);
      if (text) {
        this.#appendText("text", text);
      }
      if (typeof delta.refusal === "string" && delta.refusal) {
        this.#appendText("text", delta.refusal);
        this.#finish ??= "content_filter";
      }
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) {
          if (call && typeof call === "object") this.#appendTool(call);
        }
      } else if (delta.function_call && typeof delta.function_call === "object") {
        this.#appendTool({ index: 0, function: delta.function_call });
      }
    }
    if (choice?.finish_reason) {
      this.#finish = choice.finish_reason;
      for (const s of this.#segments) s.complete = true;
    }
    if (chunk.usage && typeof chunk.usage === "object") this.#usage = usageOf(chunk.usage);
    this.#advance(false);
    return this.#take();
  }

  /** The upstream stream ended ([DONE] or EOF): closes every block and the message. */
  end(): string {
    if (this.done) return "";
    if (!this.#started) {
      return this.error("the upstream provider ended the stream without a response");
    }
    for (const s of this.#segments) s.complete = true;
    this.#advance(true);
    const usage = this.#usage ?? { output_tokens: Math.ceil(this.#outputChars / 4) };
    const reason: StopReason = stopReason(this.#finish, this.#hadTools);
    this.#out += sseEvent(
      "message_delta",
      `{"type":"message_delta","delta":{"stop_reason":"${reason}","stop_sequence":null},"usage":${
        JSON.stringify(usage)
      }}`,
    );
    this.#out += sseEvent("message_stop", `{"type":"message_stop"}`);
    this.done = true;
    return this.#take();
  }

  /** Ends the stream with an Anthropic `error` event (after whatever was already written). */
  error(message: string, type = "api_error"): string {
    if (this.done) return "";
    this.done = true;
    this.#out += sseEvent("error", JSON.stringify({ type: "error", error: { type, message } }));
    return this.#take();
  }

  #take(): string {
    const s = this.#out;
    this.#out = "";
    return s;
  }

  #start(chunk: OpenAIChatChunk): void {
    this.#started = true;
    const message = {
      id: messageId(chunk.id),
      type: "message",
      role: "assistant",
      model: this.#opts.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: this.#opts.inputTokens ?? 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 0,
      },
    };
    this.#out += sseEvent("message_start", JSON.stringify({ type: "message_start", message }));
  }

  #appendText(kind: "text" | "thinking", text: string): void {
    this.#outputChars += text.length;
    let seg = this.#segments[this.#segments.length - 1];
    if (!seg || seg.kind !== kind || seg.complete) seg = this.#newSegment(kind);
    this.#append(seg, text);
  }

  #appendTool(call: OpenAIResponseToolCall): void {
    const key = typeof call.index === "number"
      ? `i${call.index}`
      : typeof call.id === "string" && call.id
      ? `d${call.id}`
      : undefined;
    let seg: Segment | undefined;
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const s = this.#segments[i];
      if (s.kind === "tool" && (key === undefined || s.key === key)) {
        seg = s;
        break;
      }
    }
    // A different id under a known index is a new call (some providers number every call 0).
    const fresh = seg !== undefined && typeof call.id === "string" && call.id !== "" &&
      seg.id !== undefined && seg.id !== call.id;
    if (!seg || fresh) {
      seg = this.#newSegment("tool");
      seg.key = key ?? `n${this.#segments.length}`;
    }
    this.#hadTools = true;
    if (seg.id === undefined && typeof call.id === "string" && call.id) seg.id = call.id;
    const name = call.function?.name;
    if (!seg.name && typeof name === "string" && name) seg.name = name;
    let args = call.function?.arguments;
    if (args !== undefined && typeof args !== "string") args = JSON.stringify(args);
    if (args) {
      this.#outputChars += args.length;
      this.#append(seg, args);
    }
  }

  #newSegment(kind: Kind): Segment {
    const last = this.#segments[this.#segments.length - 1];
    if (last && last.kind !== "tool") last.complete = true;
    const seg: Segment = { kind, index: -1, started: false, complete: false, buffered: "" };
    this.#segments.push(seg);
    return seg;
  }

  #append(seg: Segment, text: string): void {
    if (seg.started && this.#segments[this.#head] === seg) this.#delta(seg, text);
    else seg.buffered += text;
  }

  /** Starts and closes blocks in order as far as possible; `final` starts nameless tools too. */
  #advance(final: boolean): void {
    while (this.#head < this.#segments.length) {
      const seg = this.#segments[this.#head];
      if (!seg.started) {
        if (seg.kind === "tool" && !seg.name && !final) return;
        this.#blockStart(seg);
        if (seg.buffered) {
          this.#delta(seg, seg.buffered);
          seg.buffered = "";
        }
      }
      if (!seg.complete) return;
      this.#out += sseEvent(
        "content_block_stop",
        `{"type":"content_block_stop","index":${seg.index}}`,
      );
      this.#head++;
    }
  }

  #blockStart(seg: Segment): void {
    seg.started = true;
    seg.index = this.#nextIndex++;
    let block: string;
    if (seg.kind === "text") block = `{"type":"text","text":""}`;
    else if (seg.kind === "thinking") block = `{"type":"thinking","thinking":"","signature":""}`;
    else {
      const id = toolUseId(seg.id, this.#toolIds);
      block = `{"type":"tool_use","id":${JSON.stringify(id)},"name":${
        JSON.stringify(seg.name ?? "")
      },"input":{}}`;
    }
    this.#out += sseEvent(
      "content_block_start",
      `{"type":"content_block_start","index":${seg.index},"content_block":${block}}`,
    );
  }

  #delta(seg: Segment, text: string): void {
    const delta = seg.kind === "text"
      ? `{"type":"text_delta","text":${JSON.stringify(text)}}`
      : seg.kind === "thinking"
      ? `{"type":"thinking_delta","thinking":${JSON.stringify(text)}}`
      : `{"type":"input_json_delta","partial_json":${JSON.stringify(text)}}`;
    this.#out += sseEvent(
      "content_block_delta",
      `{"type":"content_block_delta","index":${seg.index},"delta":${delta}}`,
    );
  }
}

function errorMessage(e: unknown): string {
  if (typeof e === "string") return e;
  if (e && typeof e === "object") {
    const m = (e as Record<string, unknown>).message;
    if (typeof m === "string" && m) return m;
  }
  return "the upstream provider reported an error";
}

function errorTypeOf(e: unknown): string {
  if (!e || typeof e !== "object") return "api_error";
  const { type, code } = e as Record<string, unknown>;
  const s = `${type ?? ""} ${code ?? ""}`.toLowerCase();
  if (s.includes("429") || s.includes("rate_limit") || s.includes("rate limit")) {
    return "rate_limit_error";
  }
  if (s.includes("overload") || s.includes("529") || s.includes("503")) return "overloaded_error";
  return "api_error";
}

/**
 * OpenAI SSE bytes in → Anthropic SSE bytes out. A broken upstream connection or an error
 * chunk ends the output with an Anthropic `error` event; an upstream that just stops (no
 * finish_reason, no [DONE]) still gets message_delta and message_stop. Cancelling the output
 * cancels the upstream.
 */
export function translateStream(
  upstream: ReadableStream<Uint8Array>,
  opts: StreamOptions,
): ReadableStream<Uint8Array> {
  const t = new StreamTranslator(opts);
  const encoder = new TextEncoder();
  let text = "";
  const parser = new SseParser((data) => {
    text += t.data(data);
  });
  const reader = upstream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (err) {
          text += t.error(`upstream connection failed: ${(err as Error)?.message ?? err}`);
          result = { done: true, value: undefined };
        }
        if (result.done) {
          parser.end();
          text += t.end();
        } else {
          parser.push(result.value);
        }
        if (text) {
          controller.enqueue(encoder.encode(text));
          text = "";
        }
        if (t.done) {
          controller.close();
          if (!result.done) reader.cancel().catch(() => {});
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

/** How long a body still flowing after the message ended may take to end before it is cut. */
const DRAIN_MS = 5000;

/**
 * translateStream for an upstream body read straight from node:http (takeRawBody): the same
 * output without a web stream on the upstream side and its per-chunk promises. After the
 * message ends ([DONE] or an error chunk) the rest of the body is drained rather than cut, so
 * the upstream connection stays reusable (it is cut if it has not ended after DRAIN_MS).
 */
export function translateRawStream(raw: RawBody, opts: StreamOptions): ReadableStream<Uint8Array> {
  const t = new StreamTranslator(opts);
  const encoder = new TextEncoder();
  let text = "";
  const parser = new SseParser((data) => {
    text += t.data(data);
  });
  let closed = false;
  let ended = false;
  let drain: ReturnType<typeof setTimeout> | undefined;
  const finished = () => {
    ended = true;
    if (drain !== undefined) clearTimeout(drain);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const flush = () => {
        if (closed) return;
        if (text) {
          controller.enqueue(encoder.encode(text));
          text = "";
        }
        if (t.done) {
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
          if (t.done) return;
          parser.push(chunk);
          flush();
        },
        end() {
          finished();
          if (t.done) return;
          parser.end();
          text += t.end();
          flush();
        },
        error(err) {
          finished();
          if (t.done) return;
          text += t.error(`upstream connection failed: ${err?.message ?? err}`);
          flush();
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
