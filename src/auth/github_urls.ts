// Where a GitHub account lives: github.com or a GHE.com (data residency) domain such as
// company.ghe.com. Every URL of the github-copilot kind and provider follows from the domain
// (docs/OAUTH_SETUP.md, "GitHub Copilot"); each one can also be set in the config.

export const GITHUB_DOMAIN = "github.com";

/** "https://company.ghe.com/" → "company.ghe.com" (scheme and trailing slashes dropped, lower case). */
export function normaliseDomain(domain: string): string {
  return domain.trim().replace(/^https?:\/\//i, "").replace(/\/+$/, "").toLowerCase();
}

/** True for a bare host name (labels of letters, digits and hyphens, at least one dot). */
export function validDomain(domain: string): boolean {
  return /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
    .test(domain);
}

/** The sign-in and token-exchange endpoints for `domain`. */
export function githubUrls(domain = GITHUB_DOMAIN): {
  device_authorization_url: string;
  token_url: string;
  authorize_url: string;
  copilot_token_url: string;
  /** The Copilot API base (without the token exchange, or before it). */
  copilot_api: string;
} {
  const d = normaliseDomain(domain);
  const dotcom = d === GITHUB_DOMAIN;
  return {
    device_authorization_url: `https://${d}/login/device/code`,
    token_url: `https://${d}/login/oauth/access_token`,
    authorize_url: `https://${d}/login/oauth/authorize`,
    copilot_token_url: dotcom
      ? "https://api.github.com/copilot_internal/v2/token"
      : `https://api.${d}/copilot_internal/v2/token`,
    copilot_api: dotcom ? "https://api.githubcopilot.com" : `https://copilot-api.${d}`,
  };
}
