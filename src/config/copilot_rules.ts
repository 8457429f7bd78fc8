// The github-copilot keys of `[oauth.ID]` (domain, copilot_token_exchange, copilot_token_url)
// and the cross-checks of `provider_type = "github-copilot"`: auth_type "oauth" with a
// github-copilot account, and the base URL of a GHE.com account's domain when none is set.
import type { OAuthAccountConfig, ProviderConfig } from "./types.ts";
import { impliedKind } from "../auth/kinds.ts";
import { githubUrls, normaliseDomain, validDomain } from "../auth/github_urls.ts";
import { PRESETS } from "./presets.ts";

/** What copilotAccountKeys needs of the validator. */
interface KeyReader {
  str(v: unknown, path: string): string | undefined;
  bool(v: unknown, path: string): boolean | undefined;
  fail(path: string, message: string): void;
}

/** The github-copilot keys of one `[oauth.ID]` table (`at` is its key path). */
export function copilotAccountKeys(
  t: Record<string, unknown>,
  at: string,
  c: KeyReader,
): Pick<OAuthAccountConfig, "domain" | "copilot_token_exchange" | "copilot_token_url"> {
  const out: Pick<
    OAuthAccountConfig,
    "domain" | "copilot_token_exchange" | "copilot_token_url"
  > = {};
  const raw = c.str(t.domain, `${at}.domain`);
  if (raw !== undefined) {
    const d = normaliseDomain(raw);
    if (!validDomain(d)) {
      c.fail(`${at}.domain`, `expected a host name such as "github.com" or "company.ghe.com"`);
    } else out.domain = d;
  }
  const exchange = c.bool(t.copilot_token_exchange, `${at}.copilot_token_exchange`);
  if (exchange !== undefined) out.copilot_token_exchange = exchange;
  const url = c.str(t.copilot_token_url, `${at}.copilot_token_url`);
  if (url !== undefined) {
    if (!/^https?:\/\/[^/]/.test(url)) {
      c.fail(`${at}.copilot_token_url`, `expected an http:// or https:// URL, got "${url}"`);
    } else out.copilot_token_url = url;
  }
  const kind = t.kind;
  if (kind !== "github-copilot" && Object.keys(out).length) {
    const key = Object.keys(out)[0];
    c.fail(`${at}.${key}`, `only for kind "github-copilot"`);
  }
  return out;
}

/** Reports each problem through `fail(keyPath, message)`; sets a GHE.com account's base URL. */
export function checkCopilotProviders(
  providers: ProviderConfig[],
  oauth: Readonly<Record<string, OAuthAccountConfig>>,
  fail: (path: string, message: string) => void,
): void {
  providers.forEach((p, i) => {
    if (p.api !== "copilot") return;
    const at = `providers[${i}]`;
    if (p.auth_type !== "oauth") {
      fail(
        `${at}.auth_type`,
        `provider_type "github-copilot" needs auth_type = "oauth" with a github-copilot account ` +
          `(an [oauth.ID] table with kind = "github-copilot"), got "${p.auth_type}"`,
      );
      return;
    }
    const id = p.oauth_provider;
    if (!id) return; // reported already: oauth without oauth_provider
    const kind = oauth[id]?.kind ?? impliedKind(id);
    if (kind !== "github-copilot") {
      fail(
        `${at}.oauth_provider`,
        kind === undefined
          ? `account "${id}" has no known kind: provider_type "github-copilot" needs an ` +
            `[oauth.${id}] table with kind = "github-copilot"`
          : `account "${id}" is of kind "${kind}"; provider_type "github-copilot" needs a ` +
            `github-copilot account`,
      );
      return;
    }
    // A GHE.com account talks to its own domain's Copilot API unless base_url says otherwise.
    const domain = oauth[id]?.domain;
    if (domain && p.base_url === PRESETS["github-copilot"].base_url) {
      p.base_url = githubUrls(domain).copilot_api;
    }
  });
}
