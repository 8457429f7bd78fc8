// GET /api/events: every finished request's log record, as server-sent events, to each
// connected client. A client that does not keep up loses events (counted, and told with a
// `dropped` event once it catches up): publishing never waits for a client.
import type { RequestLog } from "../proxy/log.ts";

/** Events queued per client before new ones are dropped for it. */
export const CLIENT_QUEUE = 256;

const ENC = new TextEncoder();

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  dropped: number;
}

export class EventHub {
  #clients = new Set<Client>();
  /** Events dropped for slow clients, over all clients. */
  dropped = 0;

  get clients(): number {
    return this.#clients.size;
  }

  /** Sends `record` to every client that has room (a JSON copy: no body, no secret in it). */
  publish(record: RequestLog): void {
    if (this.#clients.size === 0) return;
    const data = ENC.encode(`event: request\ndata: ${JSON.stringify(record)}\n\n`);
    for (const c of this.#clients) {
      if ((c.controller.desiredSize ?? 0) <= 0) {
        c.dropped++;
        this.dropped++;
        continue;
      }
      if (c.dropped) {
        c.controller.enqueue(ENC.encode(`event: dropped\ndata: {"dropped":${c.dropped}}\n\n`));
        c.dropped = 0;
      }
      c.controller.enqueue(data);
    }
  }

  /** A text/event-stream answer that receives events until the client goes away. */
  connect(): Response {
    let client: Client;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = { controller, dropped: 0 };
        this.#clients.add(client);
        controller.enqueue(ENC.encode(": ccmux events\n\n"));
      },
      cancel: () => {
        this.#clients.delete(client);
      },
    }, new CountQueuingStrategy({ highWaterMark: CLIENT_QUEUE }));
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Ends every stream (serve shutting down). */
  close(): void {
    for (const c of this.#clients) {
      try {
        c.controller.close();
      } catch { /* already closed */ }
    }
    this.#clients.clear();
  }
}

/** What the finished requests tell about each provider: the last error and recent latency. */
export class ProviderStats {
  #by = new Map<
    string,
    { latencies: number[]; last_error?: { at: string; status: number; error?: string } }
  >();

  observe(l: RequestLog): void {
    if (l.provider === undefined) return;
    let s = this.#by.get(l.provider);
    if (!s) this.#by.set(l.provider, s = { latencies: [] });
    if (l.status >= 400 || l.error !== undefined) {
      s.last_error = { at: new Date().toISOString(), status: l.status };
      if (l.error !== undefined) s.last_error.error = l.error;
    } else {
      s.latencies.push(l.ttfb_ms ?? l.duration_ms);
      if (s.latencies.length > 20) s.latencies.shift();
    }
  }

  /** Last error, and the median time to first byte of the last 20 successful requests. */
  of(
    provider: string,
  ): { last_error?: unknown; recent_latency_ms?: number; recent_requests: number } {
    const s = this.#by.get(provider);
    if (!s) return { recent_requests: 0 };
    const sorted = [...s.latencies].sort((a, b) => a - b);
    const out: { last_error?: unknown; recent_latency_ms?: number; recent_requests: number } = {
      recent_requests: sorted.length,
    };
    if (sorted.length) out.recent_latency_ms = sorted[Math.floor(sorted.length / 2)];
    if (s.last_error) out.last_error = s.last_error;
    return out;
  }
}
