// Route selection (docs/CONFIG.md, "How a request is routed"): which model name a request goes
// to, and the upstreams that serve it in priority order. Called on every request, so it reads
// only the fields it needs (no serialisation of the body) and compiles each Config's regexes and
// lookups once.
import type { Config, ModelConfig, ProviderConfig } from "../config/types.ts";
import { compileRegex } from "../config/regex.ts";
import { estimateInputTokens } from "./estimate.ts";
import type { Candidate, RouteDecision, RouteRule } from "./route_types.ts";
import { RouteError } from "./route_types.ts";

/** claude-code-mux's defaults when the keys are unset or empty. */
export const DEFAULT_AUTO_MAP_REGEX = "^claude-";
export const DEFAULT_BACKGROUND_REGEX = "(?i)claude.*haiku";

const TAG_OPEN = "<CCM-SUBAGENT-MODEL>";
const TAG_RE = /<CCM-SUBAGENT-MODEL>([^<]*)<\/CCM-SUBAGENT-MODEL>/g;
/** What follows a tag up to the end of its line, when that is only spaces. */
const REST_OF_LINE = /[ \t]*(?:\r?\n|$)/y;
const SPACES_AFTER = /[ \t]+/y;

type Obj = Record<string, unknown>;

/** Everything the router derives from one Config, built on first use. */
interface Compiled {
  autoMap: RegExp;
  background: RegExp;
  /** [[models]] by lower-cased name. */
  models: Map<string, ModelConfig>;
  /** Every provider (enabled or not) by lower-cased name. */
  providers: Map<string, ProviderConfig>;
  /** Lower-cased model name → enabled providers listing it, in config order. */
  listed: Map<string, { provider: ProviderConfig; model: string }[]>;
  firstEnabled?: ProviderConfig;
}

const compiledCache = new WeakMap<Config, Compiled>();

function compile(config: Config): Compiled {
  let c = compiledCache.get(config);
  if (c) return c;
  const listed = new Map<string, { provider: ProviderConfig; model: string }[]>();
  for (const p of config.providers) {
    if (!p.enabled) continue;
    for (const m of p.models) {
      const key = m.toLowerCase();
      const list = listed.get(key) ?? [];
      list.push({ provider: p, model: m });
      listed.set(key, list);
    }
  }
  c = {
    autoMap: compileRegex(config.router.auto_map_regex || DEFAULT_AUTO_MAP_REGEX),
    background: compileRegex(config.router.background_regex || DEFAULT_BACKGROUND_REGEX),
    models: new Map(config.models.map((m) => [m.name.toLowerCase(), m])),
    providers: new Map(config.providers.map((p) => [p.name.toLowerCase(), p])),
    listed,
    firstEnabled: config.providers.find((p) => p.enabled),
  };
  compiledCache.set(config, c);
  return c;
}

/**
 * Picks the route for one request (docs/CONFIG.md, "How a request is routed"; first match wins):
 * subagent tag → websearch → long_context → background → think → default (auto_map_regex) →
 * the requested model itself → fallback (no [[models]]: the first enabled provider, model
 * unchanged).
 *
 * A rule whose target has no usable candidate (every mapping's provider disabled, or excluded
 * by X-Provider) is passed over. Removes the subagent tag from `body.system` (bodyChanged).
 * Throws RouteError 400 for a missing model or a bad X-Provider, 404 for a model nothing serves.
 */
export function selectRoute(
  config: Config,
  body: Record<string, unknown>,
  headers: Headers,
): RouteDecision {
  const c = compile(config);
  const requested = body.model;
  if (typeof requested !== "string" || requested === "") {
    throw new RouteError("model: a model name is required", 400);
  }
  const only = xProvider(c, headers);
  const r = config.router;

  // 1. subagent tag (checked first so the tag never reaches upstream, whatever wins)
  const tagged = takeSubagentTag(body);
  const bodyChanged = tagged !== undefined;
  if (tagged) {
    const candidates = resolve(c, tagged, only, true);
    if (candidates === null) throw notFound(config, c, tagged, "the <CCM-SUBAGENT-MODEL> tag");
    if (candidates.length) return decide("subagent", tagged, candidates, bodyChanged);
  }

  const target = (rule: RouteRule, name: string | undefined): RouteDecision | undefined => {
    if (!name) return undefined;
    const candidates = resolve(c, name, only, true);
    return candidates?.length ? decide(rule, name, candidates, bodyChanged) : undefined;
  };
  let d: RouteDecision | undefined;
  // 2. websearch
  if (r.websearch && hasWebSearchTool(body.tools)) d = target("websearch", r.websearch);
  // 3. long_context (estimated only when the rule is configured)
  if (!d && r.long_context && estimateInputTokens(body) > r.long_context_threshold) {
    d = target("long_context", r.long_context);
  }
  // 4. background, before think: Claude Code's haiku requests carry enabled thinking.
  if (!d && r.background && c.background.test(requested)) d = target("background", r.background);
  // 5. think: only "enabled"; "adaptive" is on every main Claude Code request.
  if (!d && r.think && (body.thinking as Obj | undefined)?.type === "enabled") {
    d = target("think", r.think);
  }
  // 6. default
  if (!d && r.default && c.autoMap.test(requested)) d = target("default", r.default);
  if (d) return d;

  // 7. the requested model itself
  const own = resolve(c, requested, only, false);
  if (own?.length) return decide("model", requested, own, bodyChanged);
  if (only) {
    throw new RouteError(
      `X-Provider: provider "${only.name}" does not serve model "${requested}"`,
      400,
    );
  }
  if (own === null && config.models.length === 0 && c.firstEnabled) {
    return decide("fallback", requested, [plain(c.firstEnabled, requested)], bodyChanged);
  }
  if (own !== null) {
    throw new RouteError(`model "${requested}" has no enabled provider`, 404);
  }
  throw notFound(config, c, requested, "the request");
}

function decide(
  rule: RouteRule,
  model: string,
  candidates: Candidate[],
  bodyChanged: boolean,
): RouteDecision {
  return { rule, model, candidates, bodyChanged };
}

function plain(provider: ProviderConfig, model: string): Candidate {
  return { provider, actual_model: model, strip_beta_options: false, strip_specific_beta: [] };
}

/** The provider named by the X-Provider header, if any; 400 when it names none usable. */
function xProvider(c: Compiled, headers: Headers): ProviderConfig | undefined {
  const name = headers.get("x-provider")?.trim();
  if (!name) return undefined;
  const p = c.providers.get(name.toLowerCase());
  if (!p) {
    throw new RouteError(
      `X-Provider: no provider named "${name}" (one of: ${
        [...c.providers.values()].filter((q) => q.enabled).map((q) => q.name).join(", ")
      })`,
      400,
    );
  }
  if (!p.enabled) throw new RouteError(`X-Provider: provider "${p.name}" is disabled`, 400);
  return p;
}

/**
 * The candidates for a model name: a [[models]] name → its mappings in priority order;
 * "provider/model" → that provider with the rest as the model; a model providers list → those
 * providers. Disabled providers and those X-Provider excludes are left out, so the result may
 * be empty. null when the name is none of these; then, as a rule target (`lenient`), it goes
 * unchanged to the X-Provider provider, or to the first enabled provider when the config has
 * no [[models]] (what config validation accepts for one-provider configs).
 */
function resolve(
  c: Compiled,
  name: string,
  only: ProviderConfig | undefined,
  lenient: boolean,
): Candidate[] | null {
  const usable = (p: ProviderConfig | undefined): p is ProviderConfig =>
    p !== undefined && p.enabled && (only === undefined || p === only);
  const key = name.toLowerCase();
  const model = c.models.get(key);
  if (model) {
    const out: Candidate[] = [];
    for (const m of model.mappings) {
      const p = c.providers.get(m.provider.toLowerCase());
      if (!usable(p)) continue;
      out.push({
        provider: p,
        actual_model: m.actual_model,
        strip_beta_options: m.strip_beta_options,
        strip_specific_beta: m.strip_specific_beta,
      });
    }
    return out;
  }
  const slash = name.indexOf("/");
  if (slash > 0 && slash < name.length - 1) {
    const p = c.providers.get(key.slice(0, slash));
    if (p) return usable(p) ? [plain(p, name.slice(slash + 1))] : [];
  }
  const listed = c.listed.get(key);
  if (listed) {
    const out = listed.filter((l) => usable(l.provider)).map((l) => plain(l.provider, l.model));
    // A model other providers list still goes to the X-Provider one unchanged (rule 7's rule).
    return out.length || !only ? out : [plain(only, name)];
  }
  if (only) return [plain(only, name)];
  if (lenient && c.models.size === 0 && c.firstEnabled) return [plain(c.firstEnabled, name)];
  return null;
}

function notFound(config: Config, c: Compiled, name: string, where: string): RouteError {
  const choices = [
    ...config.models.map((m) => m.name),
    ...[...c.listed.values()].flat().map((l) => l.model),
  ];
  const providers = config.providers.filter((p) => p.enabled).map((p) => p.name);
  const shown = [...new Set(choices)].slice(0, 20).join(", ");
  return new RouteError(
    `model "${name}" (from ${where}) is not configured: use one of ${shown || "(none)"}` +
      `, or "provider/model" with a provider of ${providers.join(", ") || "(none enabled)"}`,
    404,
  );
}

function hasWebSearchTool(tools: unknown): boolean {
  if (!Array.isArray(tools)) return false;
  for (const t of tools) {
    const type = (t as Obj | null)?.type;
    if (typeof type === "string" && type.startsWith("web_search")) return true;
  }
  return false;
}

/**
 * Finds the first `<CCM-SUBAGENT-MODEL>name</CCM-SUBAGENT-MODEL>` in any system block (or a
 * string system), removes every such tag from the system prompt, and returns the name ("" for
 * a tag with an empty name; undefined, with the body untouched, when there is no tag).
 * A block the removal leaves empty is dropped (the API rejects empty text blocks), and so is a
 * system left empty.
 */
export function takeSubagentTag(body: Obj): string | undefined {
  const system = body.system;
  let found: string | undefined;
  const strip = (text: string): string => {
    let name: string | undefined;
    let out = removeTags(text, (n) => (name ??= n.trim()));
    if (name === undefined) return text;
    found ||= name;
    // Trim only the edges the tag created, keeping the author's own leading/trailing space.
    if (!/^\s/.test(text)) out = out.replace(/^\s+/, "");
    if (!/\s$/.test(text)) out = out.replace(/\s+$/, "");
    return out;
  };
  if (typeof system === "string") {
    if (!system.includes(TAG_OPEN)) return undefined;
    const out = strip(system);
    if (found === undefined) return undefined;
    if (out.trim() === "") delete body.system;
    else body.system = out;
  } else if (Array.isArray(system)) {
    const emptied = new Set<unknown>();
    for (const block of system) {
      const b = block as Obj | null;
      if (b?.type !== "text" || typeof b.text !== "string" || !b.text.includes(TAG_OPEN)) continue;
      const out = strip(b.text);
      if (out === b.text) continue;
      b.text = out;
      if (out.trim() === "") emptied.add(b);
    }
    if (emptied.size) {
      const kept = system.filter((b) => !emptied.has(b));
      if (kept.length) body.system = kept;
      else delete body.system;
    }
  }
  return found;
}

/**
 * `text` without its subagent tags (each name passed to `seen`), the text around them kept apart:
 * a line holding only a tag goes with its line break ("rules\n<tag>\nmore" → "rules\nmore");
 * elsewhere only the tag goes, and of the spaces on both sides of it one side's stay
 * ("a <tag> b" → "a b", "Sub agent.  <tag>\nDo it." → "Sub agent.  \nDo it.",
 * "end.<tag> Next" → "end. Next").
 */
function removeTags(text: string, seen: (name: string) => void): string {
  let out = "";
  let at = 0;
  for (const m of text.matchAll(TAG_RE)) {
    seen(m[1]);
    out += text.slice(at, m.index!);
    at = m.index! + m[0].length;
    const lineStart = out.lastIndexOf("\n") + 1;
    REST_OF_LINE.lastIndex = at;
    const rest = REST_OF_LINE.exec(text);
    if (rest && /^[ \t]*$/.test(out.slice(lineStart))) {
      // Alone on its line: the line goes (its leading spaces, the tag, the rest and the break).
      out = out.slice(0, lineStart);
      at += rest[0].length;
      continue;
    }
    const last = out.charCodeAt(out.length - 1);
    if (last === 0x20 || last === 0x09) {
      SPACES_AFTER.lastIndex = at;
      const spaces = SPACES_AFTER.exec(text);
      if (spaces) at += spaces[0].length;
    }
  }
  return out + text.slice(at);
}
