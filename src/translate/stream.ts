// OpenAI Chat Completions stream (SSE bytes) → Anthropic Messages stream (SSE text),
// incrementally: every upstream chunk is parsed once and what it carries goes straight to the
// shared AnthropicStreamWriter, which orders the blocks and writes the events.
//
// What is Chat-specific stays here. Chat has no explicit block ends: text and thinking end as
// soon as anything else follows them, tool calls at finish_reason or the end of the stream (in
// practice right after their arguments). Tool call deltas refer to their call by index (or by
// id when there is no index); a new id under a known index is a new call (some providers
// number every call 0). Usage comes at the end, if at all (else an estimate from the output).
import { AnthropicStreamWriter, type BlockHandle, SseSink } from "./anthropic_writer.ts";
import type { ChunkTransform } from "./chunk_transform.ts";
import { relayStream } from "./relay.ts";
import { stopReason, textOf, usageOf } from "./response.ts";
import { SseParser } from "./sse.ts";
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

  constructor(writer: AnthropicStreamWriter) {
    this.#w = writer;
  }

  /** One SSE data payload. */
  data(payload: string): void {
    if (this.#w.done) return;
    if (payload === "[DONE]") return this.end();
    let chunk: OpenAIChatChunk;
    try {
      chunk = JSON.parse(payload);
    } catch {
      return; // not a chunk (some providers send bare status lines); nothing to carry
    }
    if (!chunk || typeof chunk !== "object") return;
    if (chunk.error !== undefined && chunk.error !== null) {
      this.#w.error(errorTypeOf(chunk.error), errorMessage(chunk.error));
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

  /** The upstream stream ended ([DONE] or EOF): closes every block and the message. */
  end(): void {
    if (this.#w.done) return;
    if (!this.#started) {
      this.#w.error("api_error", "the upstream provider ended the stream without a response");
      return;
    }
    const usage = this.#usage ?? { output_tokens: Math.ceil(this.#outputChars / 4) };
    this.#w.finish(stopReason(this.#finish, this.#hadTools), usage);
  }

  /** The upstream connection failed: an error event after whatever was written. */
  abort(err: unknown): void {
    this.#w.error("api_error", `upstream connection failed: ${(err as Error)?.message ?? err}`);
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
 * Chat Completions SSE bytes in → Anthropic SSE text out; run it with relayStream or
 * relayRawBody. An error chunk or a broken connection ends the output with an Anthropic
 * `error` event (alone, if nothing was written yet); an upstream that just stops (no
 * finish_reason, no [DONE]) after a chunk still gets message_delta and message_stop.
 */
export class ChatStreamTranslator implements ChunkTransform {
  #sink = new SseSink();
  #writer: AnthropicStreamWriter;
  #reader: ChatReader;
  #parser: SseParser;

  constructor(opts: ChatStreamOptions) {
    this.#writer = new AnthropicStreamWriter(this.#sink, opts);
    this.#reader = new ChatReader(this.#writer);
    this.#parser = new SseParser((data) => this.#reader.data(data));
  }

  /** True after message_stop or an error event: nothing more is written. */
  get done(): boolean {
    return this.#writer.done;
  }

  /** True once the first Anthropic byte was produced. */
  get committed(): boolean {
    return this.#writer.committed;
  }

  push(chunk: Uint8Array): string {
    if (!this.#writer.done) this.#parser.push(chunk);
    return this.#sink.take();
  }

  end(): string {
    if (!this.#writer.done) {
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

/** Chat Completions SSE bytes → Anthropic SSE bytes over a web stream (the library's API). */
export function translateStream(
  upstream: ReadableStream<Uint8Array>,
  opts: ChatStreamOptions,
): ReadableStream<Uint8Array> {
  return relayStream(upstream, new ChatStreamTranslator(opts));
}
