// `ccmux status --quota`: asks each subscription account's provider for its quota windows now —
// Anthropic `GET {base_url}/api/oauth/usage` (bearer + the OAuth beta), Codex
// `GET {base_url}/../wham/usage` (bearer + ChatGPT-Account-Id; chatgpt.com/backend-api/wham/usage
// for the default base), GitHub Copilot `GET copilot_internal/user` on the GitHub API host of the
// account (api.github.com, or api.DOMAIN for GHE.com; the host of its copilot_token_url). And the
// windows serve last saved in its state folder, per account.
import type { Config, ProviderConfig } from "../config/types.ts";
import type { TokenRecord } from "../auth/types.ts";
import { chatgptAccountId } from "../proxy/chatgpt_account.ts";
import { OAUTH_BETA } from "../proxy/headers.ts";
import { VERSION } from "../version.ts";
import { resolveOAuth } from "../auth/kinds.ts";
import {
  anthropicUsageWindows,
  codexUsageWindows,
  copilotUsageWindows,
  type QuotaWindow,
} from "./signals.ts";
import type { ProviderQuota } from "./book.ts";

/** How long a usage endpoint may take. */
const TIMEOUT_MS = 10_000;

/** One provider's windows as status shows them. */
export interface QuotaView {
  provider: string;
  /** "saved": serve's state folder; "live": asked just now. */
  source: "saved" | "live";
  status?: string;
  windows: { name: string; utilization?: number; resets_at?: string; status?: string }[];
  /** When serve last saw them (saved only). */
  updated_at?: string;
  exhausted_until?: string;
}

const iso = (ms: number | undefined) => ms === undefined ? undefined : new Date(ms).toISOString();

function view(provider: string, source: QuotaView["source"], windows: QuotaWindow[]): QuotaView {
  return {
    provider,
    source,
    windows: windows.map((w) => {
      const o: QuotaView["windows"][number] = { name: w.name };
      if (w.utilization !== undefined) o.utilization = w.utilization;
      if (w.resets_at !== undefined) o.resets_at = iso(w.resets_at);
      if (w.status !== undefined) o.status = w.status;
      return o;
    }),
  };
}

/** The oauth providers that use account `id`. */
export function providersOf(config: Config, id: string): ProviderConfig[] {
  return config.providers.filter((p) =>
    p.auth_type === "oauth" && (p.oauth_provider ?? p.name) === id
  );
}

/** Serve's saved windows of account `id`'s providers. */
export function savedQuota(config: Config, saved: ProviderQuota[], id: string): QuotaView[] {
  const names = new Set(providersOf(config, id).map((p) => p.name));
  return saved.filter((q) => q.account === id || names.has(q.provider)).map(savedView);
}

/** One provider's saved (or serve's current) windows as status shows them. */
export function savedView(q: ProviderQuota): QuotaView {
  const v = view(q.provider, "saved", q.windows);
  if (q.status) v.status = q.status;
  v.updated_at = iso(q.updated_at);
  if (q.exhausted && q.exhausted.until > Date.now()) v.exhausted_until = iso(q.exhausted.until);
  return v;
}

type Family = "anthropic" | "codex" | "copilot";

/** The usage endpoint of a provider, or undefined when its family has none ccmux knows. */
export function usageEndpoint(
  p: ProviderConfig,
  config?: Config,
): { url: string; family: Family } | undefined {
  const type = p.provider_type.toLowerCase();
  if (type === "codex") {
    return { url: new URL("../wham/usage", `${p.base_url}/`).href, family: "codex" };
  }
  if (type === "github-copilot") {
    const id = p.oauth_provider ?? p.name;
    const tokenUrl = config && resolveOAuth(config, id, "github-copilot")?.copilot_token_url;
    if (!tokenUrl) return undefined;
    return { url: new URL("/copilot_internal/user", tokenUrl).href, family: "copilot" };
  }
  if (p.api === "anthropic") return { url: `${p.base_url}/api/oauth/usage`, family: "anthropic" };
  return undefined;
}

const WINDOWS: Record<Family, (body: unknown) => QuotaWindow[]> = {
  anthropic: anthropicUsageWindows,
  codex: (body) => codexUsageWindows(body),
  copilot: copilotUsageWindows,
};

/** Asks provider `p` for account `rec`'s windows now; throws a readable error. */
export async function liveQuota(
  p: ProviderConfig,
  rec: TokenRecord,
  fetcher: typeof fetch = fetch,
  config?: Config,
): Promise<QuotaView | undefined> {
  const ep = usageEndpoint(p, config);
  if (!ep) return undefined;
  if (ep.family === "anthropic" && rec.api_key) {
    throw new Error(`${p.name}: an API-key account has no subscription quota`);
  }
  const headers: Record<string, string> = {
    authorization: `Bearer ${rec.access_token}`,
    accept: "application/json",
    "user-agent": `ccmux/${VERSION}`,
  };
  if (ep.family === "anthropic") headers["anthropic-beta"] = OAUTH_BETA;
  else if (ep.family === "codex") {
    const account = chatgptAccountId(rec);
    if (account) headers["chatgpt-account-id"] = account;
  }
  // Never follows a redirect (the bearer token would go along): a 3xx is a failure.
  const res = await fetcher(ep.url, {
    headers,
    redirect: "manual",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`${p.name}: ${new URL(ep.url).pathname} answered HTTP ${res.status}`);
  }
  const body = await res.json().catch(() => undefined);
  return view(p.name, "live", WINDOWS[ep.family](body));
}

/** "5h 45 % (resets in 2h 3m), 7d 12 %". */
export function describeWindows(views: QuotaView[], now = Date.now()): string {
  const parts: string[] = [];
  for (const v of views) {
    const ws = v.windows.filter((w) => w.utilization !== undefined).map((w) => {
      const at = w.resets_at ? Date.parse(w.resets_at) : NaN;
      const left = at > now ? ` (resets in ${span(at - now)})` : "";
      return `${w.name} ${Math.round(w.utilization! * 100)} %${left}`;
    });
    let text = ws.join(", ") || "no windows";
    if (v.exhausted_until) text += `, exhausted until ${v.exhausted_until}`;
    parts.push(views.length > 1 ? `${v.provider}: ${text}` : text);
  }
  return parts.join("; ");
}

function span(ms: number): string {
  const m = Math.ceil(ms / 60000);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}
