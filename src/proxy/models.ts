// GET /v1/models and GET /v1/models/{id} in the shape of Anthropic's models API, from the names
// the config knows (docs/CONFIG.md, "The models API").
import type { Config } from "../config/types.ts";
import { errorResponse } from "./errors.ts";

/**
 * Anthropic's models API gives each model's release time and allows "an epoch value if the
 * release date is unknown". ccmux knows only names, so every entry says exactly that.
 */
const UNKNOWN_RELEASE = "1970-01-01T00:00:00Z";

/** Every configured model name: the [[models]] names, then the providers' `models` lists. */
function modelNames(config: Config): string[] {
  const names = new Set<string>();
  for (const m of config.models) names.add(m.name);
  for (const p of config.providers) {
    if (!p.enabled) continue;
    for (const m of p.models) names.add(m);
  }
  return [...names];
}

function modelEntry(id: string) {
  return { type: "model", id, display_name: id, created_at: UNKNOWN_RELEASE };
}

/**
 * GET /v1/models in Anthropic's list shape, with its paging: `limit` (1–1000, default 20),
 * `after_id`, `before_id`.
 */
export function modelList(config: Config, query: URLSearchParams): Response {
  const names = modelNames(config);
  const limitText = query.get("limit");
  const limit = limitText === null ? 20 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return errorResponse(400, "limit: must be an integer from 1 to 1000");
  }
  let from = 0;
  let to = names.length;
  const after = query.get("after_id");
  const before = query.get("before_id");
  if (after !== null) from = names.indexOf(after) + 1;
  if (before !== null) to = Math.max(0, names.indexOf(before));
  if ((after !== null && from === 0) || (before !== null && !names.includes(before))) {
    return errorResponse(400, `${after !== null ? "after_id" : "before_id"}: unknown model`);
  }
  // before_id pages backwards: the `limit` entries just before it.
  const page = before !== null && after === null
    ? names.slice(Math.max(from, to - limit), to)
    : names.slice(from, Math.min(to, from + limit));
  const data = page.map(modelEntry);
  const first = names.indexOf(page[0]);
  const hasMore = before !== null && after === null ? first > 0 : from + page.length < to;
  return Response.json({
    data,
    has_more: hasMore,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  });
}

/** GET /v1/models/{id}: one entry (names match case-insensitively, as routing does), or 404. */
export function modelInfo(config: Config, id: string): Response {
  const want = id.toLowerCase();
  const name = modelNames(config).find((n) => n.toLowerCase() === want);
  if (name === undefined) return errorResponse(404, `model: ${id}`);
  return Response.json(modelEntry(name));
}
