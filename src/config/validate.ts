// Turns a parsed TOML tree into a Config: env expansion, unknown keys, types, ranges and
// cross-references, each problem reported with its key path.
import type {
  Config,
  ModelConfig,
  OAuthAccountConfig,
  ProviderConfig,
  RouterConfig,
  ServerConfig,
} from "./types.ts";
import { PRESETS } from "./presets.ts";
import { compileRegex } from "./regex.ts";
import { checkResponsesProviders } from "./responses_rules.ts";
import { checkCopilotProviders, copilotAccountKeys } from "./copilot_rules.ts";

/** One problem in a config file. */
export interface ConfigIssue {
  path: string;
  message: string;
  line?: number;
  /** 1-based, where known (TOML syntax errors). */
  column?: number;
}

/** The config is invalid; `issues` lists every problem found. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly issues: ConfigIssue[]) {
    super(
      `invalid config ${file}:\n` +
        issues.map((i) => `  ${i.path}${where(i)}: ${i.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

function where(i: ConfigIssue): string {
  if (!i.line) return "";
  return i.column ? ` (line ${i.line}, column ${i.column})` : ` (line ${i.line})`;
}

type Table = Record<string, unknown>;
type Env = Record<string, string | undefined>;

/**
 * The largest `*_ms` value: timers take a signed 32-bit delay, and a longer one fires after 1 ms
 * (Node) instead of never.
 */
export const MAX_MS = 2 ** 31 - 1;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/**
 * True for a host name or address that only this machine can reach: localhost, 127.0.0.0/8,
 * ::1, and 127.0.0.0/8 as an IPv4-mapped IPv6 address (::ffff:127.0.0.1, or ::ffff:7f00:1 as
 * URL parsers write it): a socket bound to one accepts connections to 127.x only. Brackets
 * around an IPv6 address are allowed.
 */
export function isLoopbackHost(host: string): boolean {
  let h = host.toLowerCase();
  if (LOOPBACK_HOSTS.has(h)) return true;
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.startsWith("::ffff:")) {
    h = h.slice(7);
    if (/^7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(h)) return true;
  }
  return /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * The host of an `http://` URL that leaves this machine, else undefined (https, loopback, or
 * not a URL: that is reported elsewhere).
 */
function clearTextRemoteHost(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  return u.protocol === "http:" && !isLoopbackHost(u.hostname) ? u.hostname : undefined;
}

/** Keys claude-code-mux (and its forks) write that ccmux accepts and ignores, with why. */
const LEGACY_IGNORED: Record<string, string[]> = {
  providers: ["project_id", "location", "rate_limit_rpm", "rate_limit_max_wait_ms"],
};

class Checker {
  issues: ConfigIssue[] = [];
  warnings: string[] = [];
  /** Unset "$VAR"s that `lenient` let pass. */
  unsetEnv: UnsetVariable[] = [];
  constructor(
    readonly env: Env,
    readonly source: string,
    readonly lenient: (path: string) => boolean = () => false,
  ) {}

  fail(path: string, message: string) {
    this.issues.push({ path, message, line: this.lineOf(path) });
  }

  /** The TOML line of a key path, from a light scan of table headers and `key =` lines. */
  lineOf(path: string): number | undefined {
    this.lines ??= keyLines(this.source);
    return this.lines.get(path) ?? this.lines.get(path.replace(/\[\d+\]$/, ""));
  }
  lines?: Map<string, number>;

  table(v: unknown, path: string, known: string[], legacy: string[] = []): Table {
    if (v === undefined) return {};
    if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
      this.fail(path, `expected a table, got ${describe(v)}`);
      return {};
    }
    for (const k of Object.keys(v)) {
      if (legacy.includes(k)) {
        this.warnings.push(`${path}.${k} is a claude-code-mux key that ccmux ignores`);
      } else if (!known.includes(k)) {
        const hint = closest(k, known);
        this.fail(
          path ? `${path}.${k}` : k,
          `unknown key${hint ? ` (did you mean '${hint}'?)` : ""}`,
        );
      }
    }
    return v as Table;
  }

  str(
    v: unknown,
    path: string,
    opts: { expand?: boolean; oneOf?: string[] } = {},
  ): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== "string") {
      this.fail(path, `expected a string, got ${describe(v)}`);
      return undefined;
    }
    let s = v;
    if (opts.expand !== false) {
      const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(v);
      if (m) {
        const name = m[1] ?? m[2];
        const value = this.env[name];
        if (value === undefined) {
          if (this.lenient(path)) this.unsetEnv.push({ path, variable: name });
          else this.fail(path, `environment variable ${name} is not set`);
          return undefined;
        }
        s = value;
      }
    }
    if (opts.oneOf && !opts.oneOf.includes(s)) {
      this.fail(path, `expected one of ${opts.oneOf.map((o) => `"${o}"`).join(", ")}, got "${s}"`);
      return undefined;
    }
    return s;
  }

  int(v: unknown, path: string, min: number, max: number): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `expected an integer from ${min} to ${max}, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  num(v: unknown, path: string, min: number): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= min) {
      this.fail(path, `expected a number greater than ${min}, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") {
      this.fail(path, `expected true or false, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  strList(v: unknown, path: string): string[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.fail(path, `expected an array of strings, got ${describe(v)}`);
      return undefined;
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      const s = this.str(item, `${path}[${i}]`);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  strMap(v: unknown, path: string): Record<string, string> {
    const t = this.table(v, path, Object.keys((v as Table) ?? {}));
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(t)) {
      const s = this.str(val, `${path}.${k}`);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }

  regex(v: unknown, path: string): string | undefined {
    const s = this.str(v, path);
    if (s === undefined || s === "") return undefined;
    try {
      compileRegex(s);
    } catch (e) {
      this.fail(path, `regex does not compile: ${(e as Error).message}`);
      return undefined;
    }
    return s;
  }

  tableArray(v: unknown, path: string): unknown[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.fail(path, `expected an array of tables ([[${path}]]), got ${describe(v)}`);
      return [];
    }
    return v;
  }
}

/** Maps key paths such as `providers[1].api_key` to their 1-based line in TOML source. */
function keyLines(source: string): Map<string, number> {
  const out = new Map<string, number>();
  const counts = new Map<string, number>();
  let table = "";
  const unquote = (k: string) => k.trim().split(".").map((p) => p.trim().replace(/^"(.*)"$/, "$1"));
  source.split("\n").forEach((line, i) => {
    const arr = /^\s*\[\[([^\]]+)\]\]/.exec(line);
    const tab = arr ? undefined : /^\s*\[([^\]]+)\]/.exec(line);
    if (arr || tab) {
      // Resolve each dotted part against the arrays seen so far: models.mappings → models[2].mappings[0].
      let prefix = "";
      const parts = unquote((arr ?? tab)![1]);
      parts.forEach((part, j) => {
        prefix = prefix ? `${prefix}.${part}` : part;
        const last = j === parts.length - 1;
        if (last && arr) {
          const n = counts.get(prefix) ?? 0;
          counts.set(prefix, n + 1);
          for (const k of [...counts.keys()]) if (k.startsWith(`${prefix}[`)) counts.delete(k);
          prefix = `${prefix}[${n}]`;
        } else if (counts.has(prefix)) prefix = `${prefix}[${counts.get(prefix)! - 1}]`;
      });
      table = prefix;
      out.set(table, i + 1);
      return;
    }
    const kv = /^\s*("[^"]*"|[A-Za-z0-9_.-]+)\s*=/.exec(line);
    if (kv) {
      const key = `${table ? `${table}.` : ""}${unquote(kv[1]).join(".")}`;
      if (!out.has(key)) out.set(key, i + 1);
    }
  });
  return out;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a date";
  if (v === null) return "null";
  if (typeof v === "string") return `the string "${v.length > 40 ? v.slice(0, 40) + "…" : v}"`;
  if (typeof v === "object") return "a table";
  return `${typeof v} ${String(v)}`;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

/** A "$VAR" left unset that the loading command could do without. */
export interface UnsetVariable {
  path: string;
  variable: string;
}

/** Inputs that are not in the file. */
export interface ValidateContext {
  file: string;
  source: string;
  env: Env;
  /**
   * Let an unset "$VAR" in a provider or in server.api_key pass (the value is left out and
   * listed in Config.unsetEnv): for commands that never send a request upstream.
   */
  lenientEnv?: boolean;
  home: string;
  /** The provider used when the file has no [[providers]]. */
  defaultProvider: () => ProviderConfig;
  defaultTokenFile: string;
}

const OAUTH_KINDS = ["anthropic", "anthropic-console", "openai", "oidc", "github-copilot"];

/** Validates a parsed TOML document; throws ConfigError listing every problem. */
export function validateConfig(doc: Table, ctx: ValidateContext): Config {
  const c = new Checker(
    ctx.env,
    ctx.source,
    ctx.lenientEnv
      ? (path) => path === "server.api_key" || path.startsWith("providers[")
      : undefined,
  );
  const root = c.table(doc, "", [
    "server",
    "router",
    "providers",
    "models",
    "auth",
    "oauth",
    "metrics",
    "admin",
  ]);

  // [server]
  const s = c.table(root.server, "server", [
    "host",
    "port",
    "api_key",
    "log_level",
    "log_format",
    "allowed_hosts",
    "max_body_mb",
    "timeouts",
  ]);
  const t = c.table(s.timeouts, "server.timeouts", [
    "api_timeout_ms",
    "idle_timeout_ms",
    "connect_timeout_ms",
  ]);
  const server: ServerConfig = {
    host: c.str(s.host, "server.host") ?? "127.0.0.1",
    port: c.int(s.port, "server.port", 0, 65535) ?? 13456,
    api_key: c.str(s.api_key, "server.api_key") || undefined,
    log_level: (c.str(s.log_level, "server.log_level", {
      oneOf: ["error", "warn", "info", "debug", "trace"],
    }) ?? "info").replace("trace", "debug") as ServerConfig["log_level"],
    log_format: (c.str(s.log_format, "server.log_format", { oneOf: ["text", "json"] }) ??
      "text") as ServerConfig["log_format"],
    allowed_hosts: c.strList(s.allowed_hosts, "server.allowed_hosts") ?? [],
    max_body_mb: c.num(s.max_body_mb, "server.max_body_mb", 0) ?? 32,
    timeouts: {
      api_timeout_ms: c.int(t.api_timeout_ms, "server.timeouts.api_timeout_ms", 1, MAX_MS) ??
        600000,
      idle_timeout_ms: c.int(t.idle_timeout_ms, "server.timeouts.idle_timeout_ms", 1, MAX_MS) ??
        300000,
      connect_timeout_ms:
        c.int(t.connect_timeout_ms, "server.timeouts.connect_timeout_ms", 1, MAX_MS) ?? 10000,
    },
  };
  if (!isLoopbackHost(server.host) && !server.api_key) {
    c.fail(
      "server.host",
      `"${server.host}" is not a loopback address; set server.api_key to listen on it`,
    );
  }

  // [router]
  const r = c.table(root.router, "router", [
    "default",
    "background",
    "think",
    "websearch",
    "long_context",
    "long_context_threshold",
    "auto_map_regex",
    "background_regex",
    "subagent",
    "cooldown_s",
    "cooldown_failures",
    "quota_soft_limit",
  ]);
  const router: RouterConfig = {
    default: c.str(r.default, "router.default") || undefined,
    background: c.str(r.background, "router.background") || undefined,
    think: c.str(r.think, "router.think") || undefined,
    websearch: c.str(r.websearch, "router.websearch") || undefined,
    long_context: c.str(r.long_context, "router.long_context") || undefined,
    long_context_threshold:
      c.int(r.long_context_threshold, "router.long_context_threshold", 1, 1e9) ??
        60000,
    auto_map_regex: c.regex(r.auto_map_regex, "router.auto_map_regex"),
    background_regex: c.regex(r.background_regex, "router.background_regex"),
    subagent: c.str(r.subagent, "router.subagent") || undefined,
    cooldown_s: c.int(r.cooldown_s, "router.cooldown_s", 0, 86400) ?? 30,
    cooldown_failures: c.int(r.cooldown_failures, "router.cooldown_failures", 1, 1000) ?? 3,
    quota_soft_limit: c.num(r.quota_soft_limit, "router.quota_soft_limit", 0) ?? 1,
  };
  if (router.subagent !== undefined) {
    c.warnings.push(
      "router.subagent is a claude-code-mux key that ccmux ignores: the " +
        "<CCM-SUBAGENT-MODEL> tag in a request names its model itself",
    );
  }

  // [[providers]]
  const providers: ProviderConfig[] = [];
  c.tableArray(root.providers, "providers").forEach((raw, i) => {
    const p = `providers[${i}]`;
    const pt = c.table(raw, p, [
      "name",
      "provider_type",
      "auth_type",
      "oauth_provider",
      "api_key",
      "base_url",
      "enabled",
      "headers",
      "models",
      "max_output_tokens",
      "max_completion_tokens",
      "allow_insecure_http",
    ], LEGACY_IGNORED.providers);
    const enabled = c.bool(pt.enabled, `${p}.enabled`) ?? true;
    const name = c.str(pt.name, `${p}.name`, { expand: false });
    const type = c.str(pt.provider_type, `${p}.provider_type`, { expand: false });
    if (name === undefined) c.fail(`${p}.name`, "missing (every provider needs a name)");
    else if (providers.some((q) => q.name.toLowerCase() === name.toLowerCase())) {
      c.fail(`${p}.name`, `duplicate provider name "${name}"`);
    }
    if (type === undefined) c.fail(`${p}.provider_type`, "missing");
    const preset = type !== undefined ? PRESETS[type.toLowerCase()] : undefined;
    if (type !== undefined && !preset) {
      c.fail(
        `${p}.provider_type`,
        `unknown provider type "${type}" (one of: ${Object.keys(PRESETS).join(", ")})`,
      );
    }
    let authType = c.str(pt.auth_type, `${p}.auth_type`, {
      expand: false,
      oneOf: ["apikey", "api_key", "oauth", "passthrough"],
    });
    if (authType === "api_key") authType = "apikey";
    // A disabled provider's variables need not be set (as in claude-code-mux).
    const keyChecker = enabled ? c : new Checker({ ...ctx.env }, ctx.source);
    const apiKey = keyChecker.str(pt.api_key, `${p}.api_key`) || undefined;
    const oauthProvider = c.str(pt.oauth_provider, `${p}.oauth_provider`, { expand: false });
    // An api_key whose variable is unset (lenient loading) still means apikey.
    const keyGiven = apiKey !== undefined ||
      c.unsetEnv.some((u) => u.path === `${p}.api_key`);
    const auth = (authType ??
      (oauthProvider ? "oauth" : keyGiven ? "apikey" : "passthrough")) as ProviderConfig[
        "auth_type"
      ];
    if (enabled && auth === "apikey" && pt.api_key === undefined) {
      c.fail(`${p}.api_key`, `missing (auth_type = "apikey" needs an api_key)`);
    }
    if (auth === "oauth" && !oauthProvider) {
      c.fail(`${p}.oauth_provider`, `missing (auth_type = "oauth" names the account ID here)`);
    }
    const baseUrl = c.str(pt.base_url, `${p}.base_url`);
    if (baseUrl !== undefined && !/^https?:\/\/[^/]/.test(baseUrl)) {
      c.fail(`${p}.base_url`, `expected an http:// or https:// URL, got "${baseUrl}"`);
    }
    const allowHttp = c.bool(pt.allow_insecure_http, `${p}.allow_insecure_http`) ?? false;
    const effectiveUrl = baseUrl ?? preset?.base_url ?? "";
    const clearHost = clearTextRemoteHost(effectiveUrl);
    if (enabled && (auth === "apikey" || auth === "oauth") && clearHost && !allowHttp) {
      c.fail(
        `${p}.base_url`,
        `"${clearHost}" is reached over plain http://, which would send the provider's ` +
          `${auth === "oauth" ? "OAuth token" : "API key"} in clear text: use https://, or set ` +
          `allow_insecure_http = true in this provider to accept that`,
      );
    }
    providers.push({
      name: name ?? `#${i}`,
      provider_type: type ?? "",
      api: preset?.api ?? "anthropic",
      auth_type: auth,
      oauth_provider: oauthProvider,
      api_key: apiKey,
      base_url: (baseUrl ?? preset?.base_url ?? "").replace(/\/+$/, ""),
      enabled,
      headers: { ...preset?.headers, ...c.strMap(pt.headers, `${p}.headers`) },
      models: c.strList(pt.models, `${p}.models`) ?? [],
      max_completion_tokens: c.bool(pt.max_completion_tokens, `${p}.max_completion_tokens`) ??
        preset?.max_completion_tokens ?? false,
      max_output_tokens: c.int(pt.max_output_tokens, `${p}.max_output_tokens`, 0, 1e9) ?? 0,
      ...(allowHttp ? { allow_insecure_http: true } : {}),
    });
  });
  if (providers.length === 0) providers.push(ctx.defaultProvider());
  const providerNames = new Set(providers.map((p) => p.name.toLowerCase()));

  // [[models]]
  const models: ModelConfig[] = [];
  c.tableArray(root.models, "models").forEach((raw, i) => {
    const p = `models[${i}]`;
    const mt = c.table(raw, p, ["name", "mappings"]);
    const name = c.str(mt.name, `${p}.name`, { expand: false });
    if (name === undefined) c.fail(`${p}.name`, "missing");
    else if (models.some((m) => m.name.toLowerCase() === name.toLowerCase())) {
      c.fail(`${p}.name`, `duplicate model name "${name}"`);
    }
    const mappings = c.tableArray(mt.mappings, `${p}.mappings`).map((rawMap, j) => {
      const q = `${p}.mappings[${j}]`;
      const mm = c.table(rawMap, q, [
        "provider",
        "actual_model",
        "priority",
        "strip_beta_options",
        "strip_specific_beta",
      ]);
      const provider = c.str(mm.provider, `${q}.provider`, { expand: false });
      if (provider === undefined) c.fail(`${q}.provider`, "missing");
      else if (!providerNames.has(provider.toLowerCase())) {
        c.fail(`${q}.provider`, `no provider named "${provider}" in [[providers]]`);
      }
      const actual = c.str(mm.actual_model, `${q}.actual_model`, { expand: false });
      if (actual === undefined) c.fail(`${q}.actual_model`, "missing");
      return {
        provider: provider ?? "",
        actual_model: actual ?? "",
        priority: c.int(mm.priority, `${q}.priority`, 0, 1e6) ?? j + 1,
        strip_beta_options: c.bool(mm.strip_beta_options, `${q}.strip_beta_options`) ?? false,
        strip_specific_beta: c.strList(mm.strip_specific_beta, `${q}.strip_specific_beta`) ?? [],
      };
    });
    if (mappings.length === 0 && name !== undefined) {
      c.fail(`${p}.mappings`, `model "${name}" has no [[models.mappings]]`);
    }
    models.push({
      name: name ?? `#${i}`,
      mappings: mappings.sort((a, b) => a.priority - b.priority),
    });
  });

  // Router targets must resolve to something.
  const modelNames = new Set(models.map((m) => m.name.toLowerCase()));
  const listed = new Set(providers.flatMap((p) => p.models.map((m) => m.toLowerCase())));
  for (const key of ["default", "background", "think", "websearch", "long_context"] as const) {
    const target = router[key];
    if (target === undefined) continue;
    const slash = target.indexOf("/");
    const ok = modelNames.has(target.toLowerCase()) || listed.has(target.toLowerCase()) ||
      (slash > 0 && providerNames.has(target.slice(0, slash).toLowerCase()));
    if (!ok) {
      const first = providers.find((q) => q.enabled) ?? providers[0];
      const hint = slash < 0 && first
        ? ` (for provider ${first.name}: "${first.name}/${target}")`
        : "";
      c.fail(
        `router.${key}`,
        `"${target}" is not a [[models]] name, a "provider/model", or a model a provider ` +
          `lists${hint}`,
      );
    }
  }

  // [auth]
  const a = c.table(root.auth, "auth", [
    "token_file",
    "refresh_skew_s",
    "store",
    "key_source",
    "key_file",
    "background_refresh",
  ]);
  const auth: Config["auth"] = {
    token_file: c.str(a.token_file, "auth.token_file") ?? ctx.defaultTokenFile,
    refresh_skew_s: c.int(a.refresh_skew_s, "auth.refresh_skew_s", 0, 86400) ?? 300,
    store: (c.str(a.store, "auth.store", { oneOf: ["file", "encrypted"] }) ??
      "file") as Config["auth"]["store"],
    key_source: (c.str(a.key_source, "auth.key_source", {
      oneOf: ["auto", "keychain", "env", "file"],
    }) ?? "auto") as Config["auth"]["key_source"],
    key_file: c.str(a.key_file, "auth.key_file"),
    background_refresh: c.bool(a.background_refresh, "auth.background_refresh") ?? true,
  };
  if (auth.key_source === "file" && auth.key_file === undefined) {
    c.fail("auth.key_file", 'missing (key_source = "file" reads the key from this file)');
  }
  if (auth.key_file !== undefined && auth.key_file.trim() === "") {
    c.fail("auth.key_file", "must not be empty");
  }

  // [oauth.ID]
  const oauth: Record<string, OAuthAccountConfig> = {};
  const o = c.table(root.oauth, "oauth", Object.keys((root.oauth as Table) ?? {}));
  for (const [id, raw] of Object.entries(o)) {
    const p = `oauth.${id}`;
    const ot = c.table(raw, p, [
      "kind",
      "client_id",
      "authorize_url",
      "token_url",
      "revoke_url",
      "redirect_uri",
      "paste_redirect_uri",
      "api_key_url",
      "device_authorization_url",
      "scopes",
      "issuer",
      "domain",
      "copilot_token_exchange",
      "copilot_token_url",
    ]);
    const url = (k: string) => {
      const v = c.str(ot[k], `${p}.${k}`);
      if (v !== undefined && !/^https?:\/\/[^/]/.test(v)) {
        c.fail(`${p}.${k}`, `expected an http:// or https:// URL, got "${v}"`);
      }
      return v;
    };
    const kind = c.str(ot.kind, `${p}.kind`, { oneOf: OAUTH_KINDS }) as OAuthAccountConfig["kind"];
    oauth[id] = {
      kind,
      client_id: c.str(ot.client_id, `${p}.client_id`),
      authorize_url: url("authorize_url"),
      token_url: url("token_url"),
      revoke_url: url("revoke_url"),
      redirect_uri: url("redirect_uri"),
      paste_redirect_uri: url("paste_redirect_uri"),
      api_key_url: url("api_key_url"),
      device_authorization_url: url("device_authorization_url"),
      scopes: c.strList(ot.scopes, `${p}.scopes`),
      issuer: url("issuer"),
      ...copilotAccountKeys(ot, p, c),
    };
    const o = oauth[id];
    if (
      kind === "oidc" && !o.issuer && !(o.authorize_url && o.token_url) &&
      !(o.device_authorization_url && o.token_url)
    ) {
      c.fail(
        `${p}.issuer`,
        `missing (kind "oidc" needs an issuer, or authorize_url and token_url, or ` +
          `device_authorization_url and token_url)`,
      );
    }
  }

  // [metrics]
  const mt = c.table(root.metrics, "metrics", ["enabled", "token"]);
  const metrics = {
    enabled: c.bool(mt.enabled, "metrics.enabled") ?? false,
    token: c.str(mt.token, "metrics.token") || undefined,
  };
  // [admin]
  const ad = c.table(root.admin, "admin", ["enabled", "token", "allow_remote"]);
  const admin = {
    enabled: c.bool(ad.enabled, "admin.enabled") ?? false,
    token: c.str(ad.token, "admin.token") || undefined,
    allow_remote: c.bool(ad.allow_remote, "admin.allow_remote") ?? false,
  };
  if (admin.allow_remote && !server.api_key) {
    c.fail(
      "admin.allow_remote",
      "needs server.api_key as well (the API is then reachable off this host)",
    );
  }
  if (router.quota_soft_limit > 1) {
    c.fail(
      "router.quota_soft_limit",
      `expected a fraction up to 1.0, got ${router.quota_soft_limit}`,
    );
  }

  checkResponsesProviders(providers, oauth, (path, message) => c.fail(path, message));
  checkCopilotProviders(providers, oauth, (path, message) => c.fail(path, message));

  if (c.issues.length) throw new ConfigError(ctx.file, c.issues);
  return {
    path: ctx.file === "(embedded default)" ? undefined : ctx.file,
    home: ctx.home,
    server,
    router,
    providers,
    models,
    auth,
    oauth,
    metrics,
    admin,
    warnings: c.warnings,
    unsetEnv: c.unsetEnv,
  };
}
