// Named provider_type presets: which wire protocol a provider speaks and where it lives by
// default. claude-code-mux's names are kept; `base_url` in the config always wins.

/** The upstream protocols ccmux speaks: Messages, Chat Completions, Responses. */
export type Api = "anthropic" | "openai" | "responses" | "copilot";

/** A named provider type. */
export interface Preset {
  api: Api;
  base_url: string;
  /** Headers the provider documents as useful (attribution, versioning). */
  headers?: Record<string, string>;
  /** OpenAI-compatible providers that want `max_completion_tokens` instead of `max_tokens`. */
  max_completion_tokens?: boolean;
}

/** Every preset by its provider_type name. */
export const PRESETS: Readonly<Record<string, Preset>> = {
  // Anthropic-compatible (ccmux appends /v1/messages)
  "anthropic": { api: "anthropic", base_url: "https://api.anthropic.com" },
  "z.ai": { api: "anthropic", base_url: "https://api.z.ai/api/anthropic" },
  "zai": { api: "anthropic", base_url: "https://api.z.ai/api/anthropic" },
  "minimax": { api: "anthropic", base_url: "https://api.minimax.io/anthropic" },
  "kimi-coding": { api: "anthropic", base_url: "https://api.kimi.com/coding" },
  "zenmux": { api: "anthropic", base_url: "https://zenmux.ai/api/anthropic" },
  // OpenAI-compatible (base includes the version; ccmux appends /chat/completions)
  "openai": { api: "openai", base_url: "https://api.openai.com/v1", max_completion_tokens: true },
  "openrouter": {
    api: "openai",
    base_url: "https://openrouter.ai/api/v1",
    headers: { "X-Title": "ccmux" },
  },
  "groq": { api: "openai", base_url: "https://api.groq.com/openai/v1" },
  "together": { api: "openai", base_url: "https://api.together.xyz/v1" },
  "fireworks": { api: "openai", base_url: "https://api.fireworks.ai/inference/v1" },
  "deepinfra": { api: "openai", base_url: "https://api.deepinfra.com/v1/openai" },
  "cerebras": { api: "openai", base_url: "https://api.cerebras.ai/v1" },
  "nebius": { api: "openai", base_url: "https://api.studio.nebius.com/v1" },
  "moonshot": { api: "openai", base_url: "https://api.moonshot.ai/v1" },
  "novita": { api: "openai", base_url: "https://api.novita.ai/v3/openai" },
  "baseten": { api: "openai", base_url: "https://inference.baseten.co/v1" },
  "ollama": { api: "openai", base_url: "http://localhost:11434/v1" },
  "nvidia-nim": { api: "openai", base_url: "https://integrate.api.nvidia.com/v1" },
  // OpenAI Responses API (ccmux appends /responses): a ChatGPT subscription through the Codex
  // backend (auth_type "oauth", an openai-kind account), or the public API with an API key.
  "codex": { api: "responses", base_url: "https://chatgpt.com/backend-api/codex" },
  "openai-responses": { api: "responses", base_url: "https://api.openai.com/v1" },
  // GitHub Copilot (auth_type "oauth", a github-copilot account): Claude models through its
  // /v1/messages, the others through /chat/completions (src/proxy/copilot.ts).
  "github-copilot": { api: "copilot", base_url: "https://api.githubcopilot.com" },
};
