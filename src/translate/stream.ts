// OpenAI Chat Completions stream (SSE bytes) → Anthropic Messages stream (SSE text),
// incrementally: every upstream chunk is parsed once and what it carries goes straight to the
// shared AnthropicStreamWriter, which orders the blocks and writes the events.
//
// What is Chat-specific stays here. Chat has no explicit block ends: text and thinking end as
// soon as anything else follows them, tool calls at finish_reason or the end of the stream (in
// practice right after their arguments). Tool call deltas refer to their call by index (or by
// id when there is no index); a new id under a known index is a new call (some providers
// number every call 0). Usage comes at the end, if at all (else an estimate from the output).
//
// Failures: until the first Anthropic byte is written (`committed`), an error chunk, or an
// upstream that ends or breaks without having said anything, is only recorded (`failure`), so
// the caller can answer with its status and fail over; after it, the stream ends with an
// Anthropic `error` event.
import { AnthropicStreamWriter, type BlockHandle, SseSink } from "./anthropic_writer.ts";
import { SseReaderTransform } from "./chunk_transform.ts";
import { brokenStream, failureOf, type UpstreamFailure } from "./failure.ts";
import { stopReason, textOf, usageOf } from "./response.ts";
import type { AnthropicUsage, OpenAIChatChunk, OpenAIResponseToolCall } from "./types.ts";

export interface ChatStreamOptions {
  /** The model name reported to the client. */
  model: string;
  /**
   * Input tokens for message_start (an estimate: OpenAI reports usage only at the end; the
   * real numbers follow in message_delta).
   */
  inputTokens?: number;
}

interface ToolCall {
  block: BlockHandle;
  /** `i<index>` or `d<id>`: what later deltas of this call carry ("" if neither). */
  key: string;
  /** The first call id and name seen. */
  id: string | undefined;
  name: string | undefined;
  /** finish_reason came before its name: it closes once named (or at the end). */
  closeWhenNamed: boolean;
}

/** Reads Chat Completions chunks (one `data:` payload at a time) into an AnthropicStreamWriter. */
export class ChatReader {
  #w: AnthropicStreamWriter;
  #started = false;
  /** The last block opened, while it is text or thinking that may still grow. */
  #text: BlockHandle | undefined;
  #tools: ToolCall[] = [];
  /** The calls this chunk's deltas touched (reused from chunk to chunk). */
  #touched: ToolCall[] = [];
  #finish: string | null = null;
  #usage: AnthropicUsage | undefined;
  #outputChars = 0;
  #hadTools = false;
  /** The upstream failure, if there was one (before or after the first byte). */
  failure: UpstreamFailure | undefined;

  constructor(writer: AnthropicStreamWriter) {
    this.#w = writer;
  }

  /** One SSE data payload. */
  data(payload: string): void {
    if (this.finished) return;
    if (payload === "[DONE]") return this.end();
    let chunk: OpenAIChatChunk;
    try {
      chunk = JSON.parse(payload);
    } catch {
      return; // not a chunk (some providers send bare status lines); nothing to carry
    }
    if (!chunk || typeof chunk !== "object") return;
    if (chunk.error !== undefined && chunk.error !== null) {
      this.#fail(failureOf(chunk.error));
      return;
    }
    if (!this.#started) {
      this.#started = true;
      this.#w.start(chunk.id);
    }
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
      if (text) this.#appendText("text", text);
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
      if (this.#touched.length > 0) this.#nameTools();
    }
    if (choice?.finish_reason) {
      this.#finish = choice.finish_reason;
      this.#closeText();
      for (const t of this.#tools) {
        if (t.name !== undefined) this.#w.close(t.block);
        else t.closeWhenNamed = true;
      }
    }
    if (chunk.usage && typeof chunk.usage === "object") this.#usage = usageOf(chunk.usage);
  }

  /** True after message_stop, an error event or a failure: nothing more is read. */
  get finished(): boolean {
    return this.#w.done || this.failure !== undefined;
  }

  /**
   * The upstream stream ended ([DONE] or EOF): closes every block and the message. Nothing
   * said and no finish_reason is a failure (an empty answer with one is still an answer).
   */
  end(): void {
    if (this.finished) return;
    if (!this.#w.committed && this.#finish === null) {
      this.#fail(brokenStream("the upstream provider ended the stream without a response"));
      return;
    }
    const usage = this.#usage ?? { output_tokens: Math.ceil(this.#outputChars / 4) };
    this.#w.finish(stopReason(this.#finish, this.#hadTools), usage);
  }

  /** The upstream connection failed. */
  abort(err: unknown): void {
    if (this.finished) return;
    const msg = err instanceof Error ? err.message : String(err);
    this.#fail(brokenStream(`upstream connection failed: ${msg}`));
  }

  /** Before the first byte only recorded (the caller answers it); after it, an error event. */
  #fail(f: UpstreamFailure): void {
    this.failure = f;
    if (this.#w.committed) this.#w.error(f.type, f.message);
  }

  #closeText(): void {
    if (this.#text === undefined) return;
    this.#w.close(this.#text);
    this.#text = undefined;
  }

  #appendText(kind: "text" | "thinking", text: string): void {
    this.#outputChars += text.length;
    if (this.#text?.kind !== kind) {
      this.#closeText();
      this.#text = this.#w.open(kind);
    }
    this.#w.append(this.#text!, text);
  }

  #appendTool(call: OpenAIResponseToolCall): void {
    const id = typeof call.id === "string" && call.id ? call.id : undefined;
    const key = typeof call.index === "number"
      ? `i${call.index}`
      : id !== undefined
      ? `d${id}`
      : undefined;
    let tool: ToolCall | undefined;
    for (let i = this.#tools.length - 1; i >= 0; i--) {
      if (key === undefined || this.#tools[i].key === key) {
        tool = this.#tools[i];
        break;
      }
    }
    if (!tool || (id !== undefined && tool.id !== undefined && tool.id !== id)) {
      this.#closeText();
      tool = {
        block: this.#w.open("tool_use"),
        key: key ?? "",
        id: undefined,
        name: undefined,
        closeWhenNamed: false,
      };
      this.#tools.push(tool);
    }
    this.#hadTools = true;
    tool.id ??= id;
    const name = call.function?.name;
    if (tool.name === undefined && typeof name === "string" && name) tool.name = name;
    if (!this.#touched.includes(tool)) this.#touched.push(tool);
    let args = call.function?.arguments;
    if (args !== undefined && typeof args !== "string") args = JSON.stringify(args);
    if (args) {
      this.#outputChars += args.length;
      this.#w.append(tool.block, args);
    }
  }

  /**
   * Hands the writer the ids and names of the calls this chunk touched, after their arguments:
   * a call starts with the id and name its whole chunk gave, and arguments that waited for the
   * name go out in one delta.
   */
  #nameTools(): void {
    for (const t of this.#touched) {
      this.#w.tool(t.block, t.id, t.name);
      if (t.closeWhenNamed && t.name !== undefined) {
        t.closeWhenNamed = false;
        this.#w.close(t.block);
      }
    }
    this.#touched.length = 0;
  }
}

/**
 * Chat Completions SSE bytes in → Anthropic SSE text out (see the top of this file); the proxy
 * runs it with relayTransform (proxy/relay.ts). Before sending anything to the client, check
 * `failure`: set while nothing was written, it is the answer to give instead (and `done` is
 * true). After the first byte an error chunk or a broken connection ends the output with an
 * Anthropic `error` event; an upstream that just stops (no finish_reason, no [DONE]) after
 * content still gets message_delta and message_stop.
 */
export class ChatStreamTranslator extends SseReaderTransform {
  constructor(opts: ChatStreamOptions) {
    super(opts, (writer) => new ChatReader(writer));
  }
}

/**
 * Chat Completions SSE bytes → Anthropic SSE bytes over a web stream (the library's API; the
 * proxy itself uses relayTransform). It reads only as fast as the output is read, and cancels
 * the upstream once the message is over. A web stream has no status to answer a failure before
 * the first byte with, so that failure is the Anthropic `error` event alone.
 */
export function translateStream(
  upstream: ReadableStream<Uint8Array>,
  opts: ChatStreamOptions,
): ReadableStream<Uint8Array> {
  const t = new ChatStreamTranslator(opts);
  const encoder = new TextEncoder();
  const reader = upstream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        let text: string;
        try {
          const r = await reader.read();
          text = r.done ? t.end() : t.push(r.value);
        } catch (err) {
          text = t.error(err);
        }
        const f = t.failure;
        if (f) {
          const sink = new SseSink();
          sink.error(f.type, f.message);
          text = sink.take();
        }
        if (text) controller.enqueue(encoder.encode(text));
        if (t.done) {
          controller.close();
          reader.cancel().catch(() => {});
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
