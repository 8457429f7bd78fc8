// A stub ChatGPT Codex backend on 127.0.0.1:0 (node:http, so it runs under Deno too). It
// enforces what the real backend is observed to enforce — bearer token, ChatGPT-Account-ID,
// and the body rules with the real `{"detail":…}` messages (instructions, store, stream,
// unsupported parameters) — plus Responses API input rules ccmux must keep (call ids and tool
// names within 64 characters, every function_call_output answering a function_call, and only
// reasoning this backend issued). It records every request and answers scripted SSE streams,
// the 429 usage-limit body with x-codex-* headers, 401, or a connection cut mid-stream.
import { Buffer } from "node:buffer";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Obj = Record<string, unknown>;

export interface CodexRecorded {
  method: string;
  url: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  json: Obj;
}

export interface CodexReply {
  status?: number;
  headers?: Record<string, string>;
  /** A JSON body. */
  json?: unknown;
  /** SSE events, each its own network write: objects as `event: TYPE\ndata: JSON`, strings raw. */
  events?: (Obj | string)[];
  /** Cut the connection after this many events. */
  breakAfter?: number;
  /** Pause between events. */
  delayMs?: number;
}

export type CodexHandler = (req: CodexRecorded, index: number) => CodexReply;

export interface CodexStub {
  /** "http://127.0.0.1:PORT/backend-api/codex": a codex provider's base_url. */
  baseUrl: string;
  token: string;
  accountId: string;
  requests: CodexRecorded[];
  /** TCP connections accepted so far (keep-alive reuse shows as fewer than requests). */
  readonly connections: number;
  reply(h: CodexHandler | CodexReply): void;
  close(): Promise<void>;
}

/** The body-rule answers of the real backend (status 400, `{"detail": …}`). */
export const CODEX_DETAIL = {
  instructions: "Instructions are required",
  store: "Store must be set to false",
  stream: "Stream must be set to true",
};

/** Fields the backend rejects (or that clients strip because it does). */
export const CODEX_UNSUPPORTED = [
  "max_output_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "truncation",
  "user",
  "stop",
  "frequency_penalty",
  "presence_penalty",
  "previous_response_id",
  "stream_options",
];

/** The prefix of the encrypted reasoning this stub issues (OpenAI's are Fernet tokens). */
export const STUB_ENCRYPTED_PREFIX = "gAAAAB";

/** The events of a realistic stream: optional reasoning, text, function calls, usage. */
export function codexEvents(opts: {
  id?: string;
  model?: string;
  reasoning?: { summary: string[]; encrypted: string };
  text?: string[];
  calls?: { callId: string; name: string; args: string[] }[];
  usage?: Obj;
  /** End with response.incomplete (max_output_tokens) instead of response.completed. */
  incomplete?: boolean;
}): Obj[] {
  const id = opts.id ?? "resp_stub1";
  const model = opts.model ?? "gpt-5.5";
  const ev: Obj[] = [];
  const add = (type: string, rest: Obj) => ev.push({ type, sequence_number: ev.length, ...rest });
  add("response.created", {
    response: { id, object: "response", status: "in_progress", model, output: [] },
  });
  add("response.in_progress", {
    response: { id, object: "response", status: "in_progress", model, output: [] },
  });
  let index = 0;
  if (opts.reasoning) {
    const item_id = "rs_stub1";
    const output_index = index++;
    add("response.output_item.added", {
      output_index,
      item: { id: item_id, type: "reasoning", summary: [] },
    });
    opts.reasoning.summary.forEach((text, summary_index) => {
      const base = { item_id, output_index, summary_index };
      add("response.reasoning_summary_part.added", {
        ...base,
        part: { type: "summary_text", text: "" },
      });
      add("response.reasoning_summary_text.delta", { ...base, delta: text });
      add("response.reasoning_summary_text.done", { ...base, text });
      add("response.reasoning_summary_part.done", {
        ...base,
        part: { type: "summary_text", text },
      });
    });
    add("response.output_item.done", {
      output_index,
      item: {
        id: item_id,
        type: "reasoning",
        summary: opts.reasoning.summary.map((text) => ({ type: "summary_text", text })),
        encrypted_content: opts.reasoning.encrypted,
      },
    });
  }
  if (opts.text?.length) {
    const item_id = "msg_stub1";
    const output_index = index++;
    const full = opts.text.join("");
    add("response.output_item.added", {
      output_index,
      item: { id: item_id, type: "message", role: "assistant", status: "in_progress", content: [] },
    });
    const base = { item_id, output_index, content_index: 0 };
    add("response.content_part.added", {
      ...base,
      part: { type: "output_text", text: "", annotations: [] },
    });
    for (const delta of opts.text) add("response.output_text.delta", { ...base, delta });
    add("response.output_text.done", { ...base, text: full });
    add("response.content_part.done", {
      ...base,
      part: { type: "output_text", text: full, annotations: [] },
    });
    add("response.output_item.done", {
      output_index,
      item: {
        id: item_id,
        type: "message",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: full, annotations: [] }],
      },
    });
  }
  opts.calls?.forEach((c, n) => {
    const item_id = `fc_stub${n + 1}`;
    const output_index = index++;
    const args = c.args.join("");
    const item = { id: item_id, type: "function_call", call_id: c.callId, name: c.name };
    add("response.output_item.added", {
      output_index,
      item: { ...item, status: "in_progress", arguments: "" },
    });
    for (const delta of c.args) {
      add("response.function_call_arguments.delta", { item_id, output_index, delta });
    }
    add("response.function_call_arguments.done", { item_id, output_index, arguments: args });
    add("response.output_item.done", {
      output_index,
      item: { ...item, status: "completed", arguments: args },
    });
  });
  const usage = opts.usage ??
    {
      input_tokens: 1200,
      input_tokens_details: { cached_tokens: 1024 },
      output_tokens: 85,
      output_tokens_details: { reasoning_tokens: 64 },
      total_tokens: 1285,
    };
  if (opts.incomplete) {
    add("response.incomplete", {
      response: {
        id,
        status: "incomplete",
        incomplete_details: { reason: "max_output_tokens" },
        output: [],
        usage,
      },
    });
  } else {add("response.completed", {
      response: { id, status: "completed", model, output: [], usage },
    });}
  return ev;
}

/** The 429 the backend answers when the plan's usage limit is reached. */
export function usageLimitReply(resetsAt: number, now = Math.floor(Date.now() / 1000)): CodexReply {
  return {
    status: 429,
    headers: {
      "x-codex-plan-type": "plus",
      "x-codex-active-limit": "codex",
      "x-codex-primary-used-percent": "100",
      "x-codex-primary-window-minutes": "300",
      "x-codex-primary-reset-at": String(resetsAt),
      "x-codex-primary-reset-after-seconds": String(resetsAt - now),
      "x-codex-secondary-used-percent": "80",
      "x-codex-secondary-window-minutes": "10080",
    },
    json: {
      error: {
        type: "usage_limit_reached",
        message: "The usage limit has been reached",
        plan_type: "plus",
        resets_at: resetsAt,
        eligible_promo: null,
        resets_in_seconds: resetsAt - now,
      },
    },
  };
}

/** A 401 (no literal body of the real backend is known; this one is the stub's own). */
export function unauthorizedReply(): CodexReply {
  return {
    status: 401,
    json: {
      error: { message: "Provided authentication token is expired.", code: "token_expired" },
    },
  };
}

function detail(message: string): CodexReply {
  return { status: 400, json: { detail: message } };
}

function inputError(message: string, code: string | null = null): CodexReply {
  return {
    status: 400,
    json: { error: { message, type: "invalid_request_error", param: "input", code } },
  };
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The answer to a request that breaks a rule, or undefined when it keeps them all. */
export function checkCodexRequest(
  req: CodexRecorded,
  token: string | ((token: string) => boolean),
  accountId: string,
  api: "codex" | "public" = "codex",
): CodexReply | undefined {
  if (req.method !== "POST" || !req.url.split("?")[0].endsWith("/responses")) {
    return { status: 404, json: { detail: "Not Found" } };
  }
  const auth = req.headers["authorization"] ?? "";
  const presented = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  const tokenOk = typeof token === "string" ? presented === token : token(presented);
  if (!tokenOk) return unauthorizedReply();
  const b = req.json;
  if (api === "codex") {
    if (req.headers["chatgpt-account-id"] !== accountId) {
      return { status: 403, json: { detail: "stub: missing or wrong ChatGPT-Account-ID" } };
    }
    if (typeof b.instructions !== "string" || b.instructions === "") {
      return detail(CODEX_DETAIL.instructions);
    }
    if (b.store !== false) return detail(CODEX_DETAIL.store);
    if (b.stream !== true) return detail(CODEX_DETAIL.stream);
    for (const f of CODEX_UNSUPPORTED) if (f in b) return detail(`Unsupported parameter: ${f}`);
  }
  if (!Array.isArray(b.input)) return detail("stub: input must be an array");
  const calls = new Set<string>();
  for (const [i, raw] of (b.input as Obj[]).entries()) {
    const item = raw ?? {};
    if (typeof item.call_id === "string" && item.call_id.length > 64) {
      return inputError(
        `Invalid 'input[${i}].call_id': string too long. Expected a string with maximum length 64, ` +
          `but got a string with length ${item.call_id.length} instead.`,
        "string_above_max_length",
      );
    }
    if (item.type === "function_call") calls.add(item.call_id as string);
    if (item.type === "function_call_output" && !calls.has(item.call_id as string)) {
      return inputError(
        `No tool call found for function call output with call_id ${item.call_id}.`,
      );
    }
    if (
      item.type === "reasoning" &&
      !(typeof item.encrypted_content === "string" &&
        item.encrypted_content.startsWith(STUB_ENCRYPTED_PREFIX))
    ) {
      return inputError(
        `The encrypted content for item input[${i}] could not be verified.`,
        "invalid_encrypted_content",
      );
    }
  }
  for (const [i, t] of ((b.tools ?? []) as Obj[]).entries()) {
    if (typeof t.name !== "string" || !NAME.test(t.name)) {
      return inputError(`Invalid 'tools[${i}].name': must match ^[a-zA-Z0-9_-]{1,64}$.`);
    }
  }
  return undefined;
}

/** Starts the stub; by default it streams "Hello" to every request that keeps the rules. */
export async function startCodexStub(
  handler?: CodexHandler | CodexReply,
  opts: {
    token?: string;
    /** Accept bearer tokens this says yes to instead of `token` (tokens issued by a refresh). */
    acceptToken?: (token: string) => boolean;
    accountId?: string;
    /**
     * "public": OpenAI's public Responses API at http://127.0.0.1:PORT/v1 (API key, no
     * ChatGPT-Account-ID, and no Codex body rules: max_output_tokens and sampling are allowed).
     */
    api?: "codex" | "public";
  } = {},
): Promise<CodexStub> {
  const token = opts.token ?? "codex-access-token";
  const api = opts.api ?? "codex";
  const accountId = opts.accountId ?? "acct-stub-1";
  let answer = toHandler(handler);
  const requests: CodexRecorded[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let json: Obj = {};
      try {
        json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        // recorded as {}
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === "string") headers[k] = v;
      }
      const rec: CodexRecorded = { method: req.method ?? "", url: req.url ?? "", headers, json };
      const index = requests.push(rec) - 1;
      const reply = checkCodexRequest(rec, opts.acceptToken ?? token, accountId, api) ??
        answer(rec, index);
      send(res, reply, index).catch(() => res.destroy());
    });
  });
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    get connections() {
      return connections;
    },
    baseUrl: api === "public"
      ? `http://127.0.0.1:${port}/v1`
      : `http://127.0.0.1:${port}/backend-api/codex`,
    token,
    accountId,
    requests,
    reply(h) {
      answer = toHandler(h);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

async function send(res: ServerResponse, reply: CodexReply, index: number): Promise<void> {
  const status = reply.status ?? 200;
  const base = { "x-request-id": `req_codex_${index}`, ...reply.headers };
  if (!reply.events) {
    res.writeHead(status, { ...base, "content-type": "application/json" });
    res.end(JSON.stringify(reply.json ?? {}));
    return;
  }
  res.writeHead(status, {
    ...base,
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
  });
  for (const [i, e] of reply.events.entries()) {
    if (reply.breakAfter !== undefined && i >= reply.breakAfter) {
      // Let what was written leave first, then cut the connection as a failing upstream does.
      await new Promise((r) => setTimeout(r, 20));
      res.destroy();
      return;
    }
    if (i > 0 && reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    res.write(typeof e === "string" ? e : `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  }
  res.end();
}

function toHandler(h: CodexHandler | CodexReply | undefined): CodexHandler {
  if (typeof h === "function") return h;
  if (h) return () => h;
  return () => ({ events: codexEvents({ text: ["Hel", "lo"] }) });
}
