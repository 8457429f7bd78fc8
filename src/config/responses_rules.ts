// Cross-checks for the Responses API provider types, run once providers and [oauth.ID] tables
// are read: `codex` is a ChatGPT subscription (auth_type "oauth" with an openai-kind account);
// `openai-responses` is the public API, which takes an API key, not a ChatGPT sign-in.
import type { OAuthAccountConfig, ProviderConfig } from "./types.ts";
import { impliedKind } from "../auth/kinds.ts";

/** Reports each problem through `fail(keyPath, message)`; `index` maps a provider to its table. */
export function checkResponsesProviders(
  providers: readonly ProviderConfig[],
  oauth: Readonly<Record<string, OAuthAccountConfig>>,
  fail: (path: string, message: string) => void,
): void {
  providers.forEach((p, i) => {
    if (p.api !== "responses") return;
    const at = `providers[${i}]`;
    const type = p.provider_type.toLowerCase();
    if (type === "codex") {
      if (p.auth_type !== "oauth") {
        fail(
          `${at}.auth_type`,
          `provider_type "codex" needs auth_type = "oauth" with a ChatGPT sign-in ` +
            `(ccmux login chatgpt; then oauth_provider = "chatgpt"), got "${p.auth_type}"`,
        );
        return;
      }
      const id = p.oauth_provider;
      if (!id) return; // reported already: oauth without oauth_provider
      const kind = oauth[id]?.kind ?? impliedKind(id);
      if (kind !== "openai") {
        fail(
          `${at}.oauth_provider`,
          kind === undefined
            ? `account "${id}" has no known kind: provider_type "codex" needs an openai-kind ` +
              `account (use the ID "chatgpt", or add [oauth.${id}] kind = "openai")`
            : `account "${id}" is of kind "${kind}"; provider_type "codex" needs an ` +
              `openai-kind account (ccmux login chatgpt)`,
        );
      }
    } else if (p.auth_type === "oauth") {
      fail(
        `${at}.auth_type`,
        `provider_type "${p.provider_type}" is OpenAI's public API, which takes an API key ` +
          `(auth_type = "apikey"); a ChatGPT sign-in works with provider_type "codex"`,
      );
    }
  });
}
