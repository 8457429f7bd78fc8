// GET /metrics in the Prometheus text format (docs/CONFIG.md, "[metrics]"), with prom-client:
// requests, tokens, upstream latency, failovers, token refreshes and quota utilization. Imported
// only when `[metrics] enabled` is true. Labels are provider, model and account names, statuses
// and window names — never a secret, a body or a client's value other than the model name.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RequestLog } from "../proxy/log.ts";
import type { QuotaBook } from "./book.ts";

/** The paths counted by name; any other (a client's typo, a scanner) counts as "other". */
const PATHS = new Set([
  "/v1/messages",
  "/v1/messages/count_tokens",
  "/v1/models",
  "/health",
  "/metrics",
]);

/** Seconds: from a fast cached answer to a long cold start. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  #requests: Counter;
  #tokens: Counter;
  #latency: Histogram;
  #failovers: Counter;
  #refreshes: Counter;

  constructor(quota: () => QuotaBook) {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: "ccmux_requests_total",
      help:
        "Requests answered, by path, provider (the one that answered or was tried last) and status.",
      labelNames: ["path", "provider", "status"],
      registers,
    });
    this.#tokens = new Counter({
      name: "ccmux_tokens_total",
      help: "Tokens the upstreams reported, by provider, model and type " +
        "(input, output, cache_read, cache_write).",
      labelNames: ["provider", "model", "type"],
      registers,
    });
    this.#latency = new Histogram({
      name: "ccmux_upstream_latency_seconds",
      help: "Time from the request's arrival to the first byte of the upstream's answer.",
      labelNames: ["provider"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#failovers = new Counter({
      name: "ccmux_failovers_total",
      help: "Candidates a request moved past (failed, skipped or deferred), by that provider.",
      labelNames: ["provider"],
      registers,
    });
    this.#refreshes = new Counter({
      name: "ccmux_token_refreshes_total",
      help: "OAuth access tokens renewed (ahead of expiry or after an upstream 401), by account.",
      labelNames: ["account"],
      registers,
    });
    new Gauge({
      name: "ccmux_quota_utilization",
      help: "Last reported use of a provider's quota window, as a fraction (1 = used up).",
      labelNames: ["provider", "window"],
      registers,
      collect() {
        this.reset();
        for (const q of quota().snapshot()) {
          for (const w of q.windows) {
            if (w.utilization !== undefined) {
              this.set({ provider: q.provider, window: w.name }, w.utilization);
            }
          }
        }
      },
    });
    new Gauge({
      name: "ccmux_quota_exhausted",
      help: "1 while a provider is skipped because its quota is used up, else 0.",
      labelNames: ["provider"],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const q of quota().snapshot()) {
          this.set({ provider: q.provider }, q.exhausted && q.exhausted.until > now ? 1 : 0);
        }
      },
    });
  }

  /** Counts one finished request. */
  observe(log: RequestLog): void {
    const provider = log.provider ?? "";
    const path = PATHS.has(log.path) ? log.path : "other";
    this.#requests.inc({ path, provider, status: String(log.status) });
    if (log.provider && log.ttfb_ms !== undefined) {
      this.#latency.observe({ provider }, log.ttfb_ms / 1000);
    }
    const steps = log.failover;
    if (steps && steps.length > 1) {
      for (let i = 0; i < steps.length - 1; i++) {
        this.#failovers.inc({ provider: steps[i].slice(0, steps[i].indexOf(" ")) });
      }
    }
    if (!log.provider) return;
    const model = log.upstream_model ?? "";
    const add = (type: string, n: number | undefined) => {
      if (n) this.#tokens.inc({ provider, model, type }, n);
    };
    add("input", log.input_tokens);
    add("output", log.output_tokens);
    add("cache_read", log.cache_read_input_tokens);
    add("cache_write", log.cache_creation_input_tokens);
  }

  refreshed(account: string): void {
    this.#refreshes.inc({ account });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
