// `ccmux config show`: the effective config as TOML with every secret replaced by "***".
// Secrets hide in more places than keys named like one: every header value, and the userinfo,
// query and fragment of every URL (`https://user:PASS@host/?api_key=…`) are redacted too.
import { stringify } from "smol-toml";
import type { Config } from "./types.ts";

const HIDDEN = "***";

/** The effective config as TOML, secrets redacted. */
export function showConfig(config: Config): string {
  return stringify(redactedConfig(config));
}

/** The effective config as a plain object (for TOML or JSON), secrets replaced by "***". */
export function redactedConfig(config: Config): Record<string, unknown> {
  const redact = (v: string | undefined) => (v === undefined ? undefined : HIDDEN);
  const doc = {
    server: { ...config.server, api_key: redact(config.server.api_key) },
    router: config.router,
    auth: config.auth,
    providers: config.providers.map(({ api: _api, ...p }) => ({
      ...p,
      api_key: redact(p.api_key),
      base_url: redactUrl(p.base_url),
      headers: Object.fromEntries(Object.keys(p.headers).map((k) => [k, HIDDEN])),
    })),
    models: config.models,
    oauth: Object.fromEntries(
      Object.entries(config.oauth).map(([id, o]) => [
        id,
        Object.fromEntries(
          Object.entries(o).map(([k, v]) => [k, typeof v === "string" ? redactUrl(v) : v]),
        ),
      ]),
    ),
    metrics: { ...config.metrics, token: redact(config.metrics.token) },
    admin: { ...config.admin, token: redact(config.admin.token) },
  };
  return dropUndefined(doc) as Record<string, unknown>;
}

/**
 * A URL with its userinfo, query values and fragment replaced by "***" (query names kept, so
 * the shape stays readable); any other string unchanged.
 */
export function redactUrl(value: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(value);
  if (!m) return value;
  const [, scheme, authority, path, query, fragment] = m;
  const at = authority.lastIndexOf("@");
  const host = at < 0 ? authority : `${HIDDEN}@${authority.slice(at + 1)}`;
  const q = query === undefined ? "" : "?" + query.slice(1).split("&").map((pair) => {
    const eq = pair.indexOf("=");
    return eq < 0 ? (pair === "" ? "" : HIDDEN) : `${pair.slice(0, eq)}=${HIDDEN}`;
  }).join("&");
  return `${scheme}${host}${path}${q}${fragment === undefined ? "" : `#${HIDDEN}`}`;
}

function dropUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropUndefined);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, dropUndefined(x)]),
    );
  }
  return v;
}
