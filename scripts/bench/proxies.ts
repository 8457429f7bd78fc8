// The processes under test and how each is started. All listen on 127.0.0.1 at a port chosen
// by the harness; all forward to the same stub upstream.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { writeCcrConfig } from "./ccr.ts";
import { cleanEnv, type StartSpec } from "./procs.ts";

export type Variant = "apikey" | "oauth" | "openai" | "codex" | "responses";

export interface Paths {
  root: string;
  tmp: string;
  stubPort: number;
  ccrCli?: string;
}

export const OAUTH_TOKEN = "sk-ant-oat01-bench-token-not-a-real-one";
/** The codex account's token and ChatGPT account id; the stub checks both (its env). */
export const CODEX_TOKEN = "codex-bench-access-token-not-a-real-one";
export const CODEX_ACCOUNT = "acct-bench-1";

/** The [[providers]] keys of one variant, all pointing at the stub. */
function providerKeys(variant: Variant, stub: string): string {
  switch (variant) {
    case "openai":
      return `provider_type = "openai"\nauth_type = "apikey"\napi_key = "sk-bench-upstream"\nbase_url = "${stub}/v1"`;
    case "oauth":
      return `provider_type = "anthropic"\nauth_type = "oauth"\noauth_provider = "claude-max"\nbase_url = "${stub}"`;
    case "codex":
      // The ChatGPT backend's path under the stub; the account is the token file's "chatgpt".
      return `provider_type = "codex"\nauth_type = "oauth"\noauth_provider = "chatgpt"\nbase_url = "${stub}/backend-api/codex"`;
    case "responses":
      return `provider_type = "openai-responses"\nauth_type = "apikey"\napi_key = "sk-bench-upstream"\nbase_url = "${stub}/v1"`;
    case "apikey":
      return `provider_type = "anthropic"\nauth_type = "apikey"\napi_key = "sk-bench-upstream"\nbase_url = "${stub}"`;
  }
}

/** Writes a CCMUX_HOME with a config for one variant (and a fresh token file for oauth/codex). */
export function ccmuxHome(p: Paths, name: string, variant: Variant, port: number): string {
  const home = join(p.tmp, `home-${name}`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const provider = providerKeys(variant, `http://127.0.0.1:${p.stubPort}`);
  const model = variant === "codex" || variant === "responses" ? "gpt-5.5" : "claude-sonnet-4-5";
  writeFileSync(
    join(home, "config.toml"),
    `[server]
host = "127.0.0.1"
port = ${port}

[router]
default = "bench"

[[providers]]
name = "stub"
${provider}

[[models]]
name = "bench"
[[models.mappings]]
provider = "stub"
actual_model = "${model}"
priority = 1
`,
  );
  if (variant === "oauth") writeTokenFile(home);
  if (variant === "codex") writeTokenFile(home, "chatgpt");
  return home;
}

/**
 * A token file with one account that expires far in the future, so no refresh is ever needed:
 * claude-max, or an openai-kind "chatgpt" account with the `account_id` that the codex adapter
 * sends as ChatGPT-Account-ID (what `ccmux login chatgpt` stores).
 */
export function writeTokenFile(
  home: string,
  account: "claude-max" | "chatgpt" = "claude-max",
): void {
  const file = join(home, "oauth_tokens.json");
  const records = {
    "claude-max": {
      provider_id: "claude-max",
      access_token: OAUTH_TOKEN,
      refresh_token: "sk-ant-ort01-bench-refresh-not-real",
      expires_at: "2099-01-01T00:00:00Z",
      kind: "anthropic",
      scopes: ["user:inference", "user:profile"],
    },
    "chatgpt": {
      provider_id: "chatgpt",
      access_token: CODEX_TOKEN,
      refresh_token: "rt-bench-refresh-not-real",
      expires_at: "2099-01-01T00:00:00Z",
      kind: "openai",
      account_id: CODEX_ACCOUNT,
      scopes: ["openid", "profile", "email", "offline_access"],
    },
  };
  writeFileSync(file, JSON.stringify({ [account]: records[account] }), { mode: 0o600 });
  chmodSync(file, 0o600);
}

export interface ProxyDef {
  /** Label in tables. */
  name: string;
  /** null for "direct": wrk talks to the stub itself. */
  spec: ((port: number) => StartSpec) | null;
  /** Measured in the load grid (Deno can be limited to RSS/startup with BENCH_DENO_GRID=0). */
  grid: boolean;
}

export function ccmuxNodeSpec(p: Paths, name: string, variant: Variant, port: number): StartSpec {
  const home = ccmuxHome(p, name, variant, port);
  return {
    name,
    cmd: process.execPath,
    args: [join(p.root, "dist", "ccmux.mjs"), "serve", "--config", join(home, "config.toml")],
    env: cleanEnv({ CCMUX_HOME: home }),
    cwd: p.root,
    port,
    log: join(p.tmp, `${name}.log`),
  };
}

export function ccmuxDenoSpec(p: Paths, name: string, port: number): StartSpec {
  const home = ccmuxHome(p, name, "apikey", port);
  return {
    name,
    // The npm package's ELF binary, spawned directly (what `npx deno` runs), so the PID is Deno's.
    cmd: join(p.root, "node_modules", "deno", "deno"),
    args: ["run", "-A", "main.ts", "serve", "--config", join(home, "config.toml")],
    env: cleanEnv({ CCMUX_HOME: home, NO_COLOR: "1" }),
    cwd: p.root,
    port,
    log: join(p.tmp, `${name}.log`),
  };
}

export function floorSpec(p: Paths, port: number): StartSpec {
  return {
    name: "node-floor",
    cmd: process.execPath,
    args: [join(p.root, "scripts", "bench", "node_floor.mjs"), String(port)],
    env: cleanEnv({ UPSTREAM: `http://127.0.0.1:${p.stubPort}` }),
    port,
    log: join(p.tmp, "node-floor.log"),
  };
}

export function ccrSpec(p: Paths, port: number): StartSpec {
  const home = join(p.tmp, "home-ccr");
  writeCcrConfig(home, port, p.stubPort);
  return {
    name: "ccr",
    cmd: process.execPath,
    args: [p.ccrCli!, "start"],
    env: cleanEnv({ HOME: home, CI: "true", FORCE_COLOR: "0" }),
    cwd: home,
    port,
    log: join(p.tmp, "ccr.log"),
    healthTimeoutMs: 60_000,
  };
}
