// Finds, reads and validates the config; the embedded default when there is no file.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import type { Config, ProviderConfig } from "./types.ts";
import { ConfigError, validateConfig } from "./validate.ts";
import { TokenStore } from "../auth/token_store.ts";

type Env = Record<string, string | undefined>;

/** `$CCMUX_HOME`, else `~/.claude-code-mux` (claude-code-mux's folder). */
export function homeDir(env: Env): string {
  return env.CCMUX_HOME ? resolve(env.CCMUX_HOME) : join(env.HOME || homedir(), ".claude-code-mux");
}

/** Where the config is read from: `--config`, `$CCMUX_CONFIG`, else the home folder's file. */
export function configPath(env: Env, flag?: string): { path: string; explicit: boolean } {
  if (flag) return { path: resolve(flag), explicit: true };
  if (env.CCMUX_CONFIG) return { path: resolve(env.CCMUX_CONFIG), explicit: true };
  return { path: join(homeDir(env), "config.toml"), explicit: false };
}

/**
 * The embedded default's single provider: Anthropic with the `claude-max` OAuth account when
 * the token file has it, else `ANTHROPIC_API_KEY`, else the client's own credentials.
 */
function defaultProvider(tokenFile: string, env: Env): ProviderConfig {
  const base: ProviderConfig = {
    name: "anthropic",
    provider_type: "anthropic",
    api: "anthropic",
    auth_type: "passthrough",
    base_url: "https://api.anthropic.com",
    enabled: true,
    headers: {},
    models: [],
    max_completion_tokens: false,
    max_output_tokens: 0,
  };
  if (hasAccount(tokenFile, "claude-max")) {
    return { ...base, auth_type: "oauth", oauth_provider: "claude-max" };
  }
  if (env.ANTHROPIC_API_KEY) {
    return { ...base, auth_type: "apikey", api_key: env.ANTHROPIC_API_KEY };
  }
  return base;
}

/** Through the token store: a sealed file lists its account IDs in clear (no key needed). */
function hasAccount(tokenFile: string, id: string): boolean {
  return new TokenStore(tokenFile).peekAccountIds().includes(id);
}

/** Options for loadConfig. */
export interface LoadOptions {
  env: Env;
  /** The `--config` flag. */
  file?: string;
  /**
   * For commands that never send a request upstream (env, status, token, login, logout): an
   * unset "$VAR" in a provider or in server.api_key is not an error. serve and config check
   * leave this off, so they name the variable.
   */
  lenientEnv?: boolean;
}

/**
 * Loads the effective config. A missing file is the embedded default unless it was named
 * explicitly (`--config`, `CCMUX_CONFIG`). Throws ConfigError with every problem found.
 */
export function loadConfig(opts: LoadOptions): Config {
  const { path, explicit } = configPath(opts.env, opts.file);
  let source: string | undefined;
  try {
    source = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" || explicit) {
      throw new ConfigError(path, [{
        path: "(file)",
        message: code === "ENOENT" ? "no such file" : (e as Error).message,
      }]);
    }
  }
  return parseConfig(
    source ?? "",
    source === undefined ? "(embedded default)" : path,
    opts.env,
    { lenientEnv: opts.lenientEnv },
  );
}

/** Parses and validates TOML text as a ccmux config. */
export function parseConfig(
  source: string,
  file: string,
  env: Env,
  opts: { lenientEnv?: boolean } = {},
): Config {
  let doc: Record<string, unknown>;
  try {
    // No file (the embedded default): nothing to parse.
    doc = source === "" ? {} : parse(source) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0];
      throw new ConfigError(file, [{
        path: "(toml)",
        message: first,
        line: e.line,
        column: e.column,
      }]);
    }
    throw e;
  }
  const home = homeDir(env);
  const defaultTokenFile = join(home, "oauth_tokens.json");
  const tokenFile = (() => {
    const auth = doc.auth as Record<string, unknown> | undefined;
    const tf = auth?.token_file;
    if (typeof tf !== "string") return defaultTokenFile;
    const m = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(tf);
    return m ? env[m[1]] ?? defaultTokenFile : tf;
  })();
  return validateConfig(doc, {
    file,
    source,
    env,
    home,
    defaultTokenFile,
    lenientEnv: opts.lenientEnv,
    defaultProvider: () => defaultProvider(tokenFile, env),
  });
}
