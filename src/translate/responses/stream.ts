// Responses API stream (SSE bytes) → Anthropic Messages stream, incrementally. The reader maps
// each Responses event onto the shared AnthropicStreamWriter: a reasoning item → a thinking
// block (summary parts joined by a blank line; encrypted_content → its signature), a message
// item → a text block, a function_call item → a tool_use block (name mapped back to the
// client's). It tolerates what real Codex streams do: no `[DONE]`, `response.completed` with
// an empty `output` (the items came as output_item events), argument deltas before or without
// `output_item.added`, only the `.done` events and no deltas.
//
// Failures: until the first Anthropic byte is written (`committed`), an upstream failure is
// only recorded (`failure`), so the caller can answer with its status and fail over; after
// it, the stream ends with an Anthropic `error` event.
import type { AnthropicStreamWriter, BlockHandle } from "../anthropic_writer.ts";
import { SseReaderTransform } from "../chunk_transform.ts";
import { openaiSignature } from "../signature.ts";
import type { ToolNames } from "../tool_names.ts";
import type { AnthropicUsage, StopReason } from "../types.ts";
import { failureOf, type UpstreamFailure } from "../failure.ts";
import type { ResponsesEvent, ResponsesItem, ResponsesObject, ResponsesUsage } from "./types.ts";

export interface ResponsesStreamOptions {
  /** The model name reported to the client. */
  model: string;
  /** Input tokens for message_start (an estimate: real usage comes with response.completed). */
  inputTokens?: number;
  /** From anthropicToResponses: upstream tool names → the client's. */
  toolNames?: ToolNames;
  /** Names the upstream in error messages. */
  upstreamName?: string;
}

interface Item {
  kind: "message" | "reasoning" | "function_call";
  block: BlockHandle;
  /** The parts that got text (so a `.done` event's full text is not appended again). */
  seen: Set<number>;
  /** The part the last text belonged to. */
  part: number;
  done: boolean;
}

const KINDS = new Set(["message", "reasoning", "function_call"]);
/** Part numbers of raw reasoning text, after any summary part's. */
const RAW = 1_000_000;

/** Reads Responses events (one `data:` payload at a time) into an AnthropicStreamWriter. */
export class ResponsesReader {
  #w: AnthropicStreamWriter;
  #opts: ResponsesStreamOptions;
  #byIndex = new Map<number, Item>();
  #byId = new Map<string, Item>();
  #hadTools = false;
  #refusal = false;
  #outputChars = 0;
  /** The upstream failure, if there was one (before or after the first byte). */
  failure: UpstreamFailure | undefined;
  /** response.completed / incomplete, a failure, or the end were handled. */
  finished = false;

  constructor(writer: AnthropicStreamWriter, opts: ResponsesStreamOptions) {
    this.#w = writer;
    this.#opts = opts;
  }

  /** One SSE data payload. */
  data(payload: string): void {
    if (this.finished) return;
    let ev: ResponsesEvent;
    try {
      ev = JSON.parse(payload);
    } catch {
      return; // not an event (a keep-alive or status line): nothing to carry
    }
    if (!ev || typeof ev !== "object") return;
    switch (ev.type) {
      case "response.created":
      case "response.in_progress":
        this.#w.start(ev.response?.id);
        return;
      case "response.output_item.added":
        if (KINDS.has(ev.item?.type as string)) {
          this.#itemInfo(this.#item(ev, ev.item!.type), ev.item!);
        }
        return;
      case "response.output_text.delta":
      case "response.refusal.delta":
        if (ev.type === "response.refusal.delta") this.#refusal = true;
        this.#add(this.#item(ev, "message"), ev.content_index, ev.delta);
        return;
      case "response.output_text.done":
      case "response.refusal.done":
        this.#addOnce(
          this.#item(ev, "message"),
          ev.content_index,
          ev.type === "response.refusal.done" ? ev.refusal : ev.text,
        );
        return;
      case "response.reasoning_summary_text.delta":
        this.#add(this.#item(ev, "reasoning"), ev.summary_index, ev.delta);
        return;
      case "response.reasoning_summary_text.done":
        this.#addOnce(this.#item(ev, "reasoning"), ev.summary_index, ev.text);
        return;
      // Raw reasoning text (some models): parts after the summary's.
      case "response.reasoning_text.delta":
        this.#add(this.#item(ev, "reasoning"), RAW + (ev.content_index ?? 0), ev.delta);
        return;
      case "response.reasoning_text.done":
        this.#addOnce(this.#item(ev, "reasoning"), RAW + (ev.content_index ?? 0), ev.text);
        return;
      case "response.function_call_arguments.delta":
        this.#add(this.#item(ev, "function_call"), 0, ev.delta);
        return;
      case "response.function_call_arguments.done":
        this.#addOnce(this.#item(ev, "function_call"), 0, ev.arguments);
        return;
      case "response.output_item.done":
        if (KINDS.has(ev.item?.type as string)) {
          this.#itemDone(this.#item(ev, ev.item!.type), ev.item!);
        }
        return;
      case "response.completed":
      case "response.incomplete":
        this.#complete(ev.response ?? {}, ev.type === "response.incomplete");
        return;
      case "response.failed":
        this.#fail(failureOf(ev.response?.error ?? ev));
        return;
      case "error":
        this.#fail(failureOf(ev));
        return;
    }
  }

  /** The upstream body ended. */
  end(): void {
    if (this.finished) return;
    const who = this.#opts.upstreamName ?? "the upstream";
    this.#fail({
      status: 502,
      type: "api_error",
      message: `${who} closed the stream before response.completed`,
    });
  }

  /** The upstream connection failed. */
  abort(err: unknown): void {
    if (this.finished) return;
    const msg = err instanceof Error ? err.message : String(err);
    this.#fail({ status: 502, type: "api_error", message: `upstream connection failed: ${msg}` });
  }

  #fail(f: UpstreamFailure): void {
    this.finished = true;
    this.failure = f;
    if (this.#w.committed) this.#w.error(f.type, f.message);
  }

  /** The item an event refers to, by output_index or item_id; created on first sight. */
  #item(ev: ResponsesEvent, type: unknown): Item {
    const index = typeof ev.output_index === "number" ? ev.output_index : undefined;
    const id = typeof ev.item_id === "string" ? ev.item_id : ev.item?.id;
    let it = index !== undefined ? this.#byIndex.get(index) : undefined;
    if (!it && id) it = this.#byId.get(id);
    if (!it) {
      const kind = KINDS.has(type as string) ? type as Item["kind"] : "message";
      const block = this.#w.open(
        kind === "reasoning" ? "thinking" : kind === "function_call" ? "tool_use" : "text",
      );
      it = { kind, block, seen: new Set(), part: 0, done: false };
    }
    if (index !== undefined && !this.#byIndex.has(index)) this.#byIndex.set(index, it);
    if (id && !this.#byId.has(id)) this.#byId.set(id, it);
    return it;
  }

  #itemInfo(it: Item, item: ResponsesItem): void {
    if (it.kind !== "function_call") return;
    this.#hadTools = true;
    const name = typeof item.name === "string" && item.name
      ? this.#opts.toolNames?.client(item.name) ?? item.name
      : undefined;
    this.#w.tool(it.block, item.call_id, name);
  }

  /** Text for part `part` of an item (content_index, summary_index; 0 for arguments). */
  #add(it: Item, part: unknown, text: unknown): void {
    if (typeof text !== "string" || text === "" || it.done) return;
    const p = typeof part === "number" ? part : it.part;
    // One thinking block per reasoning item; its summary parts are separate paragraphs.
    if (it.kind === "reasoning" && it.seen.size > 0 && p !== it.part) {
      this.#w.append(it.block, "\n\n");
    }
    if (it.kind === "function_call") this.#hadTools = true;
    it.part = p;
    it.seen.add(p);
    this.#outputChars += text.length;
    this.#w.append(it.block, text);
  }

  /** A part's full text from a `.done` event: used only when no delta of it came. */
  #addOnce(it: Item, part: unknown, text: unknown): void {
    const p = typeof part === "number" ? part : 0;
    if (!it.seen.has(p)) this.#add(it, p, text);
  }

  #itemDone(it: Item, item: ResponsesItem): void {
    if (it.done) return;
    this.#itemInfo(it, item);
    // Parts whose text never came as deltas (a server that sends only finished items).
    if (it.kind === "message" && Array.isArray(item.content)) {
      item.content.forEach((c, i) => {
        if (c?.type === "refusal" && !it.seen.has(i)) this.#refusal = true;
        this.#addOnce(it, i, c?.type === "refusal" ? c.refusal : c?.text);
      });
    } else if (it.kind === "reasoning" && Array.isArray(item.summary)) {
      item.summary.forEach((s, i) => this.#addOnce(it, i, s?.text));
    } else if (it.kind === "function_call") this.#addOnce(it, 0, item.arguments);
    if (
      it.kind === "reasoning" && typeof item.encrypted_content === "string" &&
      item.encrypted_content
    ) {
      this.#w.signature(it.block, openaiSignature(item.encrypted_content));
    }
    it.done = true;
    this.#w.close(it.block);
  }

  #complete(resp: ResponsesObject, incomplete: boolean): void {
    // The final response may list items the stream did not finish (or never sent): an item
    // seen only as argument deltas gets its name here.
    if (Array.isArray(resp.output)) {
      resp.output.forEach((item, i) => {
        if (!item || typeof item !== "object" || !KINDS.has(item.type as string)) return;
        const known = (item.id && this.#byId.get(item.id)) ||
          (this.#byId.size === 0 ? this.#byIndex.get(i) : undefined);
        const it = known || this.#item({ output_index: i, item_id: item.id, item }, item.type);
        this.#itemDone(it, item);
      });
    }
    this.finished = true;
    let stop: StopReason;
    const reason = resp.incomplete_details?.reason;
    if (incomplete) stop = reason === "content_filter" ? "refusal" : "max_tokens";
    else if (this.#refusal) stop = "refusal";
    else stop = this.#hadTools ? "tool_use" : "end_turn";
    this.#w.finish(stop, this.#usage(resp.usage));
  }

  #usage(u: ResponsesUsage | null | undefined): AnthropicUsage {
    if (!u || typeof u !== "object") {
      return {
        input_tokens: this.#opts.inputTokens ?? 0,
        output_tokens: Math.ceil(this.#outputChars / 4),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      };
    }
    // Responses input_tokens include the cached ones; Anthropic's do not.
    const input = num(u.input_tokens);
    const cached = Math.min(input, num(u.input_tokens_details?.cached_tokens));
    return {
      input_tokens: input - cached,
      output_tokens: num(u.output_tokens),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: cached,
    };
  }
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/**
 * Responses SSE bytes in → Anthropic SSE text out (see the top of this file). Run it over the
 * upstream body (relayTransform in proxy/relay.ts); before sending anything to the
 * client, check `failure`: set while nothing was written, it is the answer to give instead
 * (and `done` is true).
 */
export class ResponsesStreamTranslator extends SseReaderTransform {
  constructor(opts: ResponsesStreamOptions) {
    super(opts, (writer) => new ResponsesReader(writer, opts));
  }
}
