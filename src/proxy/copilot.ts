// The GitHub Copilot provider (provider_type "github-copilot"): the Anthropic pass-through for
// models Copilot serves with its Messages API ({base}/v1/messages, body unchanged but `model`,
// streamed as it arrives) and the Chat Completions translation for the others
// ({base}/chat/completions), both composed with Copilot's credential policy
// (src/proxy/copilot_auth.ts). Which endpoint serves a model comes from GET {base}/models
// (src/proxy/copilot_models.ts). count_tokens is answered locally with the estimate.
import type { Candidate } from "./route_types.ts";
import type { ProviderAdapter, UpstreamRequest } from "./provider.ts";
import { AnthropicAdapter } from "./anthropic.ts";
import { OpenAIAdapter } from "./openai.ts";
import { CopilotAuth } from "./copilot_auth.ts";
import { CopilotModels } from "./copilot_models.ts";
import { estimateInputTokens } from "./estimate.ts";
import { validateRequest } from "../translate/validate.ts";

export class CopilotAdapter implements ProviderAdapter {
  readonly auth: CopilotAuth;
  readonly models: CopilotModels;
  #messages: AnthropicAdapter;
  #chat: OpenAIAdapter;

  constructor(opts: { now?: () => number } = {}) {
    this.auth = new CopilotAuth(opts);
    this.models = new CopilotModels(opts);
    this.#messages = new AnthropicAdapter(this.auth);
    this.#chat = new OpenAIAdapter(this.auth);
  }

  async send(req: UpstreamRequest, cand: Candidate, signal: AbortSignal): Promise<Response> {
    if (req.kind === "count_tokens") {
      validateRequest(req.body, req.kind);
      return Response.json({ input_tokens: estimateInputTokens(req.body) });
    }
    const route = await this.models.route(req, cand, this.auth);
    return route === "messages"
      ? this.#messages.send(req, cand, signal)
      : this.#chat.send(req, cand, signal);
  }
}
