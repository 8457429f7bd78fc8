// A stub OpenAI-compatible upstream on 127.0.0.1:0: records every Chat Completions request and
// answers with JSON, an SSE stream of chunks (each written as its own network chunk, with
// `data: [DONE]` at the end unless told otherwise), an error status, or a break-off.
import { Buffer } from "node:buffer";
import { startServer } from "../../src/runtime/serve.ts";

type Obj = Record<string, unknown>;

/** One request the stub received. */
export interface OpenAIRecorded {
  method: string;
  url: string;
  headers: Record<string, string>;
  json: Obj;
}

/** How the stub answers one request. */
export interface OpenAIReply {
  status?: number;
  headers?: Record<string, string>;
  /** A JSON body. */
  json?: unknown;
  /** Streaming chunks (objects are JSON-encoded; strings are sent as raw bytes). */
  chunks?: (Obj | string)[];
  /** Leave out the final `data: [DONE]`. */
  noDone?: boolean;
  /** Break the connection off after this many chunks. */
  breakAfter?: number;
}

export type OpenAIHandler = (req: OpenAIRecorded, index: number) => OpenAIReply;

export interface OpenAIStub {
  /** "http://127.0.0.1:PORT/v1": what a provider's base_url is set to. */
  baseUrl: string;
  requests: OpenAIRecorded[];
  reply(h: OpenAIHandler | OpenAIReply): void;
  close(): Promise<void>;
}

/** The chunks of a streamed answer: optional text, tool calls (arguments split in pieces), usage. */
export function chatChunks(opts: {
  id?: string;
  text?: string[];
  tools?: { id: string; name: string; args: string[] }[];
  finish?: string;
  usage?: Obj;
}): Obj[] {
  const id = opts.id ?? "chatcmpl-stub1";
  const chunk = (delta: Obj, finish: string | null = null): Obj => ({
    id,
    object: "chat.completion.chunk",
    created: 1764170000,
    model: "stub-gpt",
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const out: Obj[] = [chunk({ role: "assistant", content: "" })];
  for (const t of opts.text ?? []) out.push(chunk({ content: t }));
  (opts.tools ?? []).forEach((t, index) => {
    out.push(chunk({
      tool_calls: [{
        index,
        id: t.id,
        type: "function",
        function: { name: t.name, arguments: "" },
      }],
    }));
    for (const a of t.args) {
      out.push(chunk({ tool_calls: [{ index, function: { arguments: a } }] }));
    }
  });
  out.push(chunk({}, opts.finish ?? (opts.tools?.length ? "tool_calls" : "stop")));
  out.push({
    id,
    object: "chat.completion.chunk",
    created: 1764170000,
    model: "stub-gpt",
    choices: [],
    usage: opts.usage ?? { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 },
  });
  return out;
}

/** A non-streaming answer with text and/or tool calls. */
export function chatJson(opts: {
  text?: string;
  tools?: { id: string; name: string; args: string }[];
}): Obj {
  return {
    id: "chatcmpl-stubjson",
    object: "chat.completion",
    created: 1764170000,
    model: "stub-gpt",
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: opts.text ?? null,
        tool_calls: opts.tools?.map((t) => ({
          id: t.id,
          type: "function",
          function: { name: t.name, arguments: t.args },
        })),
      },
      finish_reason: opts.tools?.length ? "tool_calls" : "stop",
    }],
    usage: { prompt_tokens: 40, completion_tokens: 8, total_tokens: 48 },
  };
}

/** Starts the stub; by default it streams "Hello" when asked to stream, else answers JSON. */
export async function startOpenAIStub(handler?: OpenAIHandler | OpenAIReply): Promise<OpenAIStub> {
  let answer = toHandler(handler);
  const requests: OpenAIRecorded[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    const text = await request.text();
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => (headers[k] = v));
    let json: Obj = {};
    try {
      json = JSON.parse(text);
    } catch {
      // recorded as {}
    }
    const u = new URL(request.url);
    const rec = { method: request.method, url: u.pathname + u.search, headers, json };
    const index = requests.push(rec) - 1;
    const reply = answer(rec, index);
    const status = reply.status ?? 200;
    const base = { "x-request-id": `req_oai_${index}` };
    if (reply.chunks) {
      const parts = reply.chunks.map((c) =>
        Buffer.from(typeof c === "string" ? c : `data: ${JSON.stringify(c)}\n\n`)
      );
      if (!reply.noDone) parts.push(Buffer.from("data: [DONE]\n\n"));
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (reply.breakAfter !== undefined && i >= reply.breakAfter) {
            // After a macrotask: the server has sent the status and headers by then.
            await new Promise((r) => setTimeout(r, 10));
            controller.error(new Error("stub: broken off"));
          } else if (i < parts.length) controller.enqueue(parts[i++]);
          else controller.close();
        },
      }, { highWaterMark: 0 });
      return new Response(body, {
        status,
        headers: { ...base, "content-type": "text/event-stream", ...reply.headers },
      });
    }
    return new Response(JSON.stringify(reply.json ?? {}), {
      status,
      headers: { ...base, "content-type": "application/json", ...reply.headers },
    });
  };
  const server = await startServer({ hostname: "127.0.0.1", port: 0, fetch });
  return {
    baseUrl: `http://127.0.0.1:${server.port}/v1`,
    requests,
    reply(h) {
      answer = toHandler(h);
    },
    close: () => server.shutdown(2000),
  };
}

function toHandler(h: OpenAIHandler | OpenAIReply | undefined): OpenAIHandler {
  if (typeof h === "function") return h;
  if (h) return () => h;
  return (req) =>
    req.json.stream === true
      ? { chunks: chatChunks({ text: ["Hel", "lo"] }) }
      : { json: chatJson({ text: "Hello" }) };
}
