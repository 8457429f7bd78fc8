// Typed readers of the request fields a translator reads. A body that fails one is the client's
// mistake, not the upstream's: the caller answers 400 invalid_request_error with the message,
// which names the field the way Anthropic's API does ("messages.2.content.0.tool_use_id: …").
// Fields a translator does not read are never checked (clients send more than it knows).
// The error class is validate.ts's, shared with the whole-request check of the Chat path.
import { InvalidRequestError } from "./validate.ts";

export { InvalidRequestError };

type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function expectObject(v: unknown, field: string): Obj {
  if (!isObject(v)) throw new InvalidRequestError(field, "must be an object");
  return v;
}

export function expectArray(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new InvalidRequestError(field, "must be an array");
  return v;
}

export function expectString(v: unknown, field: string): string {
  if (typeof v !== "string") throw new InvalidRequestError(field, "must be a string");
  return v;
}

/** Undefined stays undefined; anything else must be a string. */
export function optionalString(v: unknown, field: string): string | undefined {
  return v === undefined ? undefined : expectString(v, field);
}

/** Undefined stays undefined; anything else must be a finite number. */
export function optionalNumber(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new InvalidRequestError(field, "must be a number");
  }
  return v;
}

/** A string or an array (of content blocks), as `content` and `system` are. */
export function expectStringOrArray(v: unknown, field: string): string | unknown[] {
  if (typeof v !== "string" && !Array.isArray(v)) {
    throw new InvalidRequestError(field, "must be a string or an array of content blocks");
  }
  return v;
}
