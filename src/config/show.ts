// `ccmux config show`: the effective config as TOML with every secret replaced by "***".
import { stringify } from "smol-toml";
import type { Config } from "./types.ts";

const SECRET_HEADER = /auth|key|token|secret|cookie/i;

/** The effective config as TOML, secrets redacted. */
export function showConfig(config: Config): string {
  const redact = (v: string | undefined) => (v === undefined ? undefined : "***");
  const doc = {
    server: { ...config.server, api_key: redact(config.server.api_key) },
    router: config.router,
    auth: config.auth,
    providers: config.providers.map(({ api: _api, ...p }) => ({
      ...p,
      api_key: redact(p.api_key),
      headers: Object.fromEntries(
        Object.entries(p.headers).map(([k, v]) => [k, SECRET_HEADER.test(k) ? "***" : v]),
      ),
    })),
    models: config.models,
    oauth: config.oauth,
  };
  return stringify(dropUndefined(doc));
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
