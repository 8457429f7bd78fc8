// Which Copilot endpoint serves a model: GET {base}/models lists each model's
// supported_endpoints; a model with "/v1/messages" is passed through to Copilot's Messages API,
// the others go to /chat/completions. The list is cached per provider and account and refreshed
// in the background once stale (the request that finds it stale does not wait). When it cannot
// be had, Claude models (names starting with "claude") go to /v1/messages.
import type { Candidate } from "./route_types.ts";
import type { UpstreamRequest } from "./provider.ts";
import type { CopilotAuth } from "./copilot_auth.ts";
import { oauthAccount } from "./credentials.ts";
import { upstreamFetch } from "../runtime/http_client.ts";

export type CopilotRoute = "messages" | "chat";

/** A fresh list is used this long before it is fetched again (in the background). */
export const MODELS_TTL_MS = 10 * 60_000;
/** After a failed fetch, the fallback is used this long before trying again. */
const FAILED_TTL_MS = 60_000;
const FETCH_TIMEOUT_MS = 10_000;

interface Entry {
  at: number;
  /** Lower-case model id → its supported_endpoints; undefined after a failed fetch. */
  models?: Map<string, string[]>;
  refreshing?: Promise<void>;
}

export class CopilotModels {
  #lists = new Map<string, Entry>();
  #now: () => number;
  /** Fetches made (tests read it). */
  fetches = 0;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
  }

  async route(req: UpstreamRequest, cand: Candidate, auth: CopilotAuth): Promise<CopilotRoute> {
    const key = `${cand.provider.name}\0${oauthAccount(cand.provider)}\0${cand.provider.base_url}`;
    let entry = this.#lists.get(key);
    if (!entry) {
      entry = { at: 0 };
      this.#lists.set(key, entry);
      await this.#refresh(entry, req, cand, auth);
    } else if (!entry.refreshing) {
      const ttl = entry.models ? MODELS_TTL_MS : FAILED_TTL_MS;
      if (this.#now() - entry.at >= ttl) {
        this.#refresh(entry, req, cand, auth).catch(() => {});
      }
    } else if (!entry.models && entry.at === 0) await entry.refreshing;
    const endpoints = entry.models?.get(cand.actual_model.toLowerCase());
    if (endpoints) return endpoints.includes("/v1/messages") ? "messages" : "chat";
    return /^claude/i.test(cand.actual_model) ? "messages" : "chat";
  }

  #refresh(entry: Entry, req: UpstreamRequest, cand: Candidate, auth: CopilotAuth): Promise<void> {
    const timeouts = req.config.server.timeouts;
    entry.refreshing = (async () => {
      this.fetches++;
      let models: Map<string, string[]> | undefined;
      try {
        const res = await auth.send(req, cand, (t) =>
          upstreamFetch(`${t.base}/models`, {
            method: "GET",
            headers: { ...t.headers, accept: "application/json", "accept-encoding": "identity" },
            signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
            connectTimeoutMs: timeouts.connect_timeout_ms,
          }), { bare: true });
        const text = await res.text();
        if (res.ok) models = parseModels(text);
      } catch {
        models = undefined;
      }
      // A failed refresh keeps the list it had (a stale list beats the fallback).
      if (models || !entry.models) entry.models = models;
      entry.at = this.#now();
    })().finally(() => entry.refreshing = undefined);
    return entry.refreshing;
  }
}

/** `{data: [{id, supported_endpoints}]}` → id → endpoints (policy "disabled" left out). */
function parseModels(text: string): Map<string, string[]> | undefined {
  let body: { data?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(body?.data)) return undefined;
  const out = new Map<string, string[]>();
  for (const m of body.data as Record<string, unknown>[]) {
    if (!m || typeof m.id !== "string") continue;
    const policy = m.policy as Record<string, unknown> | undefined;
    if (policy?.state === "disabled") continue;
    const eps = Array.isArray(m.supported_endpoints)
      ? (m.supported_endpoints as unknown[]).filter((e): e is string => typeof e === "string")
      : [];
    out.set(m.id.toLowerCase(), eps);
  }
  return out;
}
