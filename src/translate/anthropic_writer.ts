// The one place that writes Anthropic Messages stream events and orders content blocks.
// Readers of upstream protocols (Chat Completions: stream.ts; Responses API: responses/) only
// say what arrived — "a thinking block", "text for it", "its signature", "it is complete" —
// and the writer turns that into message_start, content_block_start/delta/stop,
// message_delta, message_stop or error, through a sink: SSE text for streaming clients, or one
// message object for non-streaming ones (responses/collect.ts). messageEvents() replays a
// whole message (a JSON answer to a streaming request) through it.
//
// Ordering: Anthropic clients (Claude Code, the SDK) expect blocks strictly one after another.
// Upstreams may interleave them, so the first open block streams live and later blocks are
// buffered until every block before them is closed. A block starts only once it has something
// to show (text, a signature, a tool name), so a block closed empty is dropped instead of
// leaving an empty text block in the history (which Anthropic rejects when it is sent back).
// A tool block left open until finish() starts even without a name (with name ""). An error
// before the first block writes the error event alone.
// message_start waits for the first block too: until then nothing has been written, and a
// reader that meets an upstream error can still let the caller fail over (`committed`).

import { messageId, toolUseId } from "./ids.ts";
import { parseArguments } from "./response.ts";
import type { AnthropicContent, AnthropicMessage, AnthropicUsage, StopReason } from "./types.ts";

export type BlockKind = "text" | "thinking" | "tool_use";

/** message_delta's usage: the totals, or only output_tokens (as Anthropic itself may send). */
export type DeltaUsage = AnthropicUsage | { output_tokens: number };

/** A content block as the writer tracks it; readers hold it as an opaque handle. */
export interface BlockHandle {
  readonly kind: BlockKind;
}

interface Block extends BlockHandle {
  index: number;
  started: boolean;
  complete: boolean;
  buffered: string;
  /** tool_use: the upstream's call id and the client-side tool name. */
  callId?: string;
  name?: string;
  /** thinking: written as signature_delta just before the block's stop. */
  signature?: string;
}

/** Where the writer's events go. Indexes are the client-visible block indexes. */
export interface AnthropicSink {
  messageStart(id: string, model: string, usage: AnthropicUsage): void;
  blockStart(index: number, kind: BlockKind, toolId?: string, toolName?: string): void;
  delta(index: number, kind: BlockKind, text: string): void;
  signature(index: number, signature: string): void;
  blockStop(index: number): void;
  messageDelta(stop: StopReason, usage: DeltaUsage): void;
  messageStop(): void;
  error(type: string, message: string): void;
}

/** Orders blocks and writes them to a sink (see the top of this file). */
export class AnthropicStreamWriter {
  #sink: AnthropicSink;
  #model: string;
  #id: string | undefined;
  #startUsage: AnthropicUsage;
  #blocks: Block[] = [];
  #head = 0;
  #nextIndex = 0;
  #toolIds = new Set<string>();
  #committed = false;
  #done = false;

  /** `usage`: message_start's usage, if known (else `inputTokens`, an estimate, and zeros). */
  constructor(
    sink: AnthropicSink,
    opts: { model: string; inputTokens?: number; usage?: AnthropicUsage },
  ) {
    this.#sink = sink;
    this.#model = opts.model;
    this.#startUsage = opts.usage ?? {
      input_tokens: opts.inputTokens ?? 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 0,
    };
  }

  /** True once anything was written to the sink (the first byte, for a streaming client). */
  get committed(): boolean {
    return this.#committed;
  }

  /** True after message_stop or an error event. */
  get done(): boolean {
    return this.#done;
  }

  /** The message id (from the upstream's response id); the first call wins. */
  start(upstreamId: unknown): void {
    this.#id ??= messageId(upstreamId);
  }

  /** A new block after every block opened so far. */
  open(kind: BlockKind): BlockHandle {
    const b: Block = { kind, index: -1, started: false, complete: false, buffered: "" };
    this.#blocks.push(b);
    return b;
  }

  /** Sets a tool block's call id and client-side name (each once; later values are ignored). */
  tool(h: BlockHandle, callId: unknown, name: unknown): void {
    const b = h as Block;
    if (b.callId === undefined && typeof callId === "string" && callId) b.callId = callId;
    if (b.name === undefined && typeof name === "string" && name) b.name = name;
    this.#advance(false);
  }

  /** Appends text, thinking or tool-argument JSON to a block. */
  append(h: BlockHandle, text: string): void {
    if (this.#done || text === "") return;
    const b = h as Block;
    if (b.complete) return;
    if (b.started && this.#blocks[this.#head] === b) this.#sink.delta(b.index, b.kind, text);
    else {
      b.buffered += text;
      if (!b.started) this.#advance(false);
    }
  }

  /** A thinking block's signature (sent just before its stop). */
  signature(h: BlockHandle, signature: string): void {
    const b = h as Block;
    if (b.kind === "thinking" && signature) b.signature = signature;
  }

  /** Nothing more will be appended to this block. */
  close(h: BlockHandle): void {
    const b = h as Block;
    if (b.complete) return;
    b.complete = true;
    this.#advance(false);
  }

  /** Closes every block (tools still nameless start with name ""), then ends the message. */
  finish(stop: StopReason, usage: DeltaUsage): void {
    if (this.#done) return;
    for (const b of this.#blocks) b.complete = true;
    this.#advance(true);
    this.#commit();
    this.#sink.messageDelta(stop, usage);
    this.#sink.messageStop();
    this.#done = true;
  }

  /** Ends the output with an error event (after whatever was written). */
  error(type: string, message: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#sink.error(type, message);
  }

  #commit(): void {
    if (this.#committed) return;
    this.#committed = true;
    this.#sink.messageStart(this.#id ?? messageId(undefined), this.#model, this.#startUsage);
  }

  #startable(b: Block, final: boolean): boolean {
    if (b.kind === "tool_use") return b.name !== undefined || final;
    return b.buffered !== "" || b.signature !== undefined;
  }

  #advance(final: boolean): void {
    if (this.#done) return;
    while (this.#head < this.#blocks.length) {
      const b = this.#blocks[this.#head];
      if (!b.started) {
        if (!this.#startable(b, final)) {
          if (!b.complete) return;
          this.#head++; // closed with nothing to show: dropped, no index used
          continue;
        }
        this.#commit();
        b.started = true;
        b.index = this.#nextIndex++;
        if (b.kind === "tool_use") {
          this.#sink.blockStart(b.index, b.kind, toolUseId(b.callId, this.#toolIds), b.name ?? "");
        } else this.#sink.blockStart(b.index, b.kind);
        if (b.buffered) {
          this.#sink.delta(b.index, b.kind, b.buffered);
          b.buffered = "";
        }
      }
      if (!b.complete) return;
      if (b.signature !== undefined) this.#sink.signature(b.index, b.signature);
      this.#sink.blockStop(b.index);
      this.#head++;
    }
  }
}

/** Writes the events as Anthropic SSE text; `take()` returns what was written since. */
export class SseSink implements AnthropicSink {
  #out = "";

  take(): string {
    const s = this.#out;
    this.#out = "";
    return s;
  }

  #event(type: string, json: string): void {
    this.#out += `event: ${type}\ndata: ${json}\n\n`;
  }

  messageStart(id: string, model: string, usage: AnthropicUsage): void {
    const message = startedMessage(id, model, usage);
    this.#event("message_start", JSON.stringify({ type: "message_start", message }));
  }

  blockStart(index: number, kind: BlockKind, toolId?: string, toolName?: string): void {
    const block = kind === "text"
      ? `{"type":"text","text":""}`
      : kind === "thinking"
      ? `{"type":"thinking","thinking":"","signature":""}`
      : `{"type":"tool_use","id":${JSON.stringify(toolId)},"name":${
        JSON.stringify(toolName)
      },"input":{}}`;
    this.#event(
      "content_block_start",
      `{"type":"content_block_start","index":${index},"content_block":${block}}`,
    );
  }

  delta(index: number, kind: BlockKind, text: string): void {
    const delta = kind === "text"
      ? `{"type":"text_delta","text":${JSON.stringify(text)}}`
      : kind === "thinking"
      ? `{"type":"thinking_delta","thinking":${JSON.stringify(text)}}`
      : `{"type":"input_json_delta","partial_json":${JSON.stringify(text)}}`;
    this.#event(
      "content_block_delta",
      `{"type":"content_block_delta","index":${index},"delta":${delta}}`,
    );
  }

  signature(index: number, signature: string): void {
    this.#event(
      "content_block_delta",
      `{"type":"content_block_delta","index":${index},"delta":{"type":"signature_delta","signature":${
        JSON.stringify(signature)
      }}}`,
    );
  }

  blockStop(index: number): void {
    this.#event("content_block_stop", `{"type":"content_block_stop","index":${index}}`);
  }

  messageDelta(stop: StopReason, usage: DeltaUsage): void {
    this.#event(
      "message_delta",
      `{"type":"message_delta","delta":{"stop_reason":"${stop}","stop_sequence":null},"usage":${
        JSON.stringify(usage)
      }}`,
    );
  }

  messageStop(): void {
    this.#event("message_stop", `{"type":"message_stop"}`);
  }

  error(type: string, message: string): void {
    this.#event("error", JSON.stringify({ type: "error", error: { type, message } }));
  }
}

/** Builds one Anthropic message from the events (for clients that did not ask to stream). */
export class MessageSink implements AnthropicSink {
  #message: AnthropicMessage | undefined;
  #json = new Map<number, string>();
  /** The error event's type and message, if the writer ended with one. */
  failed: { type: string; message: string } | undefined;

  /** The message, once message_stop was written. */
  get message(): AnthropicMessage | undefined {
    return this.#message?.stop_reason ? this.#message : undefined;
  }

  messageStart(id: string, model: string, usage: AnthropicUsage): void {
    this.#message = startedMessage(id, model, { ...usage });
  }

  blockStart(index: number, kind: BlockKind, toolId?: string, toolName?: string): void {
    const content = this.#message!.content;
    if (kind === "text") content[index] = { type: "text", text: "" };
    else if (kind === "thinking") {
      content[index] = { type: "thinking", thinking: "", signature: "" };
    } else {
      content[index] = { type: "tool_use", id: toolId!, name: toolName!, input: {} };
      this.#json.set(index, "");
    }
  }

  delta(index: number, _kind: BlockKind, text: string): void {
    const b = this.#message!.content[index];
    if (b.type === "text") b.text += text;
    else if (b.type === "thinking") b.thinking += text;
    else this.#json.set(index, this.#json.get(index)! + text);
  }

  signature(index: number, signature: string): void {
    const b = this.#message!.content[index] as AnthropicContent;
    if (b.type === "thinking") b.signature = signature;
  }

  blockStop(index: number): void {
    const b = this.#message!.content[index];
    if (b.type === "tool_use") b.input = parseArguments(this.#json.get(index));
  }

  messageDelta(stop: StopReason, usage: DeltaUsage): void {
    this.#message!.stop_reason = stop;
    this.#message!.usage = "input_tokens" in usage ? usage : { ...this.#message!.usage, ...usage };
  }

  messageStop(): void {}

  error(type: string, message: string): void {
    this.failed = { type, message };
  }
}

/**
 * A complete message as the SSE events a stream of it would have produced (for an upstream
 * that answers a streaming request with plain JSON): each block in one delta.
 */
export function messageEvents(msg: AnthropicMessage): string {
  const sink = new SseSink();
  const w = new AnthropicStreamWriter(sink, {
    model: msg.model,
    usage: { ...msg.usage, output_tokens: 0 },
  });
  w.start(msg.id);
  for (const block of msg.content) {
    const h = w.open(block.type);
    if (block.type === "text") w.append(h, block.text);
    else if (block.type === "thinking") {
      w.append(h, block.thinking);
      w.signature(h, block.signature);
    } else {
      w.tool(h, block.id, block.name);
      w.append(h, JSON.stringify(block.input ?? {}));
    }
  }
  w.finish(msg.stop_reason ?? "end_turn", msg.usage);
  return sink.take();
}

/** A message as message_start announces it: no content and no stop reason yet. */
function startedMessage(id: string, model: string, usage: AnthropicUsage): AnthropicMessage {
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage,
  };
}
