// A stub of GitHub Copilot's API on 127.0.0.1:0, speaking the shapes Copilot's clients rely on:
//  - GET {base}/models → {data: [{id, name, version, supported_endpoints[], policy, capabilities}]}
//  - POST {base}/v1/messages (Anthropic Messages: SSE or JSON), recorded byte for byte;
//  - POST {base}/chat/completions (OpenAI chat: SSE or JSON);
//  - GET /copilot_internal/v2/token with `Authorization: token <GitHub token>` →
//    {token, expires_at (unix s), refresh_in, endpoints: {api}}.
// Inference accepts the GitHub token itself (no exchange) or a live session token; a revoked
// one gets 401. `base` may carry a path prefix ("/api" is what endpoints.api names), which the
// stub strips. A stream can be held after its first event until `release()`, so a test can see
// that ccmux passes the first bytes on before the upstream has finished.
import { Buffer } from "node:buffer";
import { startServer } from "../../src/runtime/serve.ts";
import { chatChunks } from "./openai_stub.ts";
import { messageEvents } from "./upstream_stub.ts";

type Obj = Record<string, unknown>;

export interface CopilotRecorded {
  method: string;
  /** Path (prefix stripped) and query. */
  url: string;
  /** The prefix the request came in under ("" or "/api"). */
  prefix: string;
  headers: Record<string, string>;
  raw: Uint8Array;
  json: Obj;
}

export interface CopilotStubOptions {
  /** The GitHub token the account holds (accepted directly, and traded at the exchange). */
  githubToken: string;
  /** Seconds from now a session token expires (default 1800). */
  sessionExpiresIn?: number;
  /** refresh_in of the exchange answer (default 1500). */
  sessionRefreshIn?: number;
  /** The models list (default: a Claude model with /v1/messages and two GPT models). */
  models?: Obj[];
  /** Hold streams after their first event until release(). */
  hold?: boolean;
}

export interface CopilotStub {
  url: string;
  /** endpoints.api of the exchange answer: url + "/api". */
  apiUrl: string;
  tokenUrl: string;
  requests: CopilotRecorded[];
  /** Inference requests (POST) only. */
  readonly inference: CopilotRecorded[];
  exchanges: { headers: Record<string, string>; token: string }[];
  modelsRequests: CopilotRecorded[];
  /** Makes `token` answer 401 from now on. */
  revoke(token: string): void;
  release(): void;
  /** Every secret it handed out or accepts. */
  secrets(): string[];
  close(): Promise<void>;
}

export const DEFAULT_MODELS: Obj[] = [
  {
    id: "claude-sonnet-4.5",
    name: "Claude Sonnet 4.5",
    version: "claude-sonnet-4.5",
    model_picker_enabled: true,
    supported_endpoints: ["/v1/messages", "/chat/completions"],
    policy: { state: "enabled" },
    capabilities: {
      family: "claude-sonnet-4.5",
      limits: { max_context_window_tokens: 200000, max_output_tokens: 32000 },
      supports: { tool_calls: true, vision: true, streaming: true },
    },
  },
  {
    id: "gpt-5",
    name: "GPT-5",
    version: "gpt-5",
    model_picker_enabled: true,
    supported_endpoints: ["/chat/completions", "/responses"],
    policy: { state: "enabled" },
    capabilities: {
      family: "gpt-5",
      limits: { max_context_window_tokens: 264000, max_output_tokens: 64000 },
      supports: { tool_calls: true, vision: true, streaming: true },
    },
  },
  {
    // A Claude model Copilot serves through chat only: routed by the list, not by its name.
    id: "claude-chat-only",
    name: "Claude via chat",
    version: "claude-chat-only",
    supported_endpoints: ["/chat/completions"],
    policy: { state: "enabled" },
    capabilities: { family: "claude", supports: { streaming: true } },
  },
];

export async function startCopilotStub(opts: CopilotStubOptions): Promise<CopilotStub> {
  const requests: CopilotRecorded[] = [];
  const exchanges: CopilotStub["exchanges"] = [];
  const sessions = new Set<string>();
  const revoked = new Set<string>();
  let released: () => void = () => {};
  let gate = new Promise<void>((r) => (released = r));
  let n = 0;
  let base = "";

  const fetch = async (request: Request): Promise<Response> => {
    const u = new URL(request.url);
    const prefix = u.pathname.startsWith("/api/") ? "/api" : "";
    const path = u.pathname.slice(prefix.length);
    const raw = new Uint8Array(await request.arrayBuffer());
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => (headers[k] = v));
    let json: Obj = {};
    try {
      json = JSON.parse(Buffer.from(raw).toString("utf8"));
    } catch { /* {} */ }

    if (path === "/copilot_internal/v2/token" && request.method === "GET") {
      const gh = /^token (.+)$/.exec(headers.authorization ?? "")?.[1];
      if (gh !== opts.githubToken || revoked.has(gh)) {
        return Response.json({ message: "Bad credentials" }, { status: 401 });
      }
      const exp = Math.floor(Date.now() / 1000) + (opts.sessionExpiresIn ?? 1800);
      const token = `tid=stub${++n};exp=${exp};sku=copilot_for_business:sig${n}`;
      sessions.add(token);
      exchanges.push({ headers, token });
      return Response.json({
        token,
        expires_at: exp,
        refresh_in: opts.sessionRefreshIn ?? 1500,
        endpoints: { api: `${base}/api`, proxy: "proxy.stub", telemetry: `${base}/telemetry` },
        sku: "copilot_for_business",
        chat_enabled: true,
      });
    }

    const rec: CopilotRecorded = {
      method: request.method,
      url: path + u.search,
      prefix,
      headers,
      raw,
      json,
    };
    requests.push(rec);
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
    const accepted = bearer !== undefined && !revoked.has(bearer) &&
      (bearer === opts.githubToken || sessions.has(bearer));
    if (!accepted) {
      return Response.json(
        { error: { message: "unauthorized: token expired or invalid", code: "unauthorized" } },
        { status: 401 },
      );
    }
    if (path === "/models" && request.method === "GET") {
      return Response.json({ data: opts.models ?? DEFAULT_MODELS, object: "list" });
    }
    if (path === "/v1/messages" && request.method === "POST") {
      const model = String(json.model);
      if (json.stream === true) {
        return stream(
          messageEvents(["Hello", " from", " Copilot"], model).map((e) =>
            typeof e === "string" ? e : `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`
          ),
        );
      }
      return Response.json({
        id: "msg_copilot01",
        type: "message",
        role: "assistant",
        model,
        content: [{ type: "text", text: "Hello from Copilot" }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 4 },
      }, { headers: { "x-request-id": "copilot-req-1" } });
    }
    if (path === "/chat/completions" && request.method === "POST") {
      if (json.stream === true) {
        const chunks = chatChunks({ text: ["Hi ", "from ", "GPT"] }).map((c) =>
          `data: ${JSON.stringify(c)}\n\n`
        );
        chunks.push("data: [DONE]\n\n");
        return stream(chunks);
      }
      return Response.json({
        id: "chatcmpl-copilot",
        object: "chat.completion",
        created: 1764170000,
        model: json.model,
        choices: [{
          index: 0,
          message: { role: "assistant", content: "Hi from GPT" },
          finish_reason: "stop",
        }],
        usage: { prompt_tokens: 20, completion_tokens: 4, total_tokens: 24 },
      });
    }
    return Response.json({ error: { message: "not found" } }, { status: 404 });
  };

  function stream(parts: string[]): Response {
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (i === 1 && opts.hold) await gate;
        if (i < parts.length) controller.enqueue(Buffer.from(parts[i++]));
        else controller.close();
      },
    }, { highWaterMark: 0 });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "x-request-id": `copilot-req-${n}` },
    });
  }

  const server = await startServer({ hostname: "127.0.0.1", port: 0, fetch });
  base = `http://127.0.0.1:${server.port}`;
  return {
    url: base,
    apiUrl: `${base}/api`,
    tokenUrl: `${base}/copilot_internal/v2/token`,
    requests,
    get inference() {
      return requests.filter((r) => r.method === "POST");
    },
    exchanges,
    get modelsRequests() {
      return requests.filter((r) => r.url === "/models");
    },
    revoke: (t) => revoked.add(t),
    release: () => {
      released();
      gate = new Promise<void>((r) => (released = r));
    },
    secrets: () => [opts.githubToken, ...sessions],
    close: () => server.shutdown(2000),
  } as CopilotStub;
}
