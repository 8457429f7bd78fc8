// The ChatGPT account id the Codex backend wants in `ChatGPT-Account-ID`: stored in the token
// record at sign-in (`account_id`), else read from the JWT claim
// "https://api.openai.com/auth".chatgpt_account_id of the id_token or the access token.
// The JWTs are only read here, not verified: they came from the token file, and the upstream
// checks the token itself.
import { Buffer } from "node:buffer";
import type { TokenRecord } from "../auth/types.ts";

const AUTH_CLAIM = "https://api.openai.com/auth";

/** The `chatgpt_account_id` claim of a JWT, or undefined. */
export function accountIdOfJwt(jwt: unknown): string | undefined {
  if (typeof jwt !== "string") return undefined;
  const parts = jwt.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    const id = claims?.[AUTH_CLAIM]?.chatgpt_account_id;
    return typeof id === "string" && id !== "" ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The account id for `record`, or undefined when neither the record nor its tokens have one. */
export function chatgptAccountId(record: TokenRecord): string | undefined {
  if (typeof record.account_id === "string" && record.account_id !== "") return record.account_id;
  return accountIdOfJwt(record.id_token) ?? accountIdOfJwt(record.access_token);
}

/**
 * The sign-in has no ChatGPT account id (not a ChatGPT sign-in, or an old record): the user must
 * sign in again. Named like auth's LoginRequiredError, which the dispatcher acts on by name.
 */
export class MissingAccountIdError extends Error {
  constructor(readonly id: string) {
    super(
      `the sign-in '${id}' carries no ChatGPT account id (the Codex backend needs it); ` +
        `run: ccmux login ${id}`,
    );
    this.name = "LoginRequiredError";
  }
}
