// The checks an Anthropic Messages request must pass before it is translated for another
// protocol: every member translation reads must have the type Anthropic's API requires, so a
// malformed request is refused (400 naming the member, as Anthropic would answer) instead of
// being quietly dropped or rewritten on the way to an OpenAI-compatible provider. Pure.

type Obj = Record<string, unknown>;

/** A member of the request has the wrong type or value; `field` is its path ("messages.0.role"). */
export class InvalidRequestError extends Error {
  constructor(readonly field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = "InvalidRequestError";
  }
}

const ROLES = new Set(["user", "assistant", "system"]);

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  switch (typeof v) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return typeof v;
  }
}

function fail(field: string, want: string, got: unknown): never {
  throw new InvalidRequestError(field, `expected ${want}, got ${kind(got)}`);
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function optional(body: Obj, key: string, want: string, ok: (v: unknown) => boolean): void {
  const v = body[key];
  if (v !== undefined && !ok(v)) fail(key, want, v);
}

/**
 * Throws InvalidRequestError for the first member that translation reads with a wrong type:
 * `messages` (required: an array of `{role, content}` with content a string or an array of
 * typed blocks), `system`, `max_tokens`, `stream`, `temperature`, `top_p`, `stop_sequences`,
 * `tools`, `tool_choice`, `thinking` and `output_config.effort`. Members it does not read are
 * not checked (the provider never sees them).
 */
export function validateRequest(body: Obj, kindOf: "messages" | "count_tokens"): void {
  const messages = body.messages;
  if (!Array.isArray(messages)) fail("messages", "an array", messages);
  messages.forEach((m, i) => {
    const at = `messages.${i}`;
    if (!isObj(m)) fail(at, "an object", m);
    if (typeof m.role !== "string" || !ROLES.has(m.role)) {
      throw new InvalidRequestError(`${at}.role`, 'expected "user" or "assistant"');
    }
    blocks(m.content, `${at}.content`);
  });
  const system = body.system;
  if (system !== undefined && typeof system !== "string") {
    if (!Array.isArray(system)) fail("system", "a string or an array of text blocks", system);
    system.forEach((b, i) => {
      if (!isObj(b)) fail(`system.${i}`, "an object", b);
      if (b.type !== "text") {
        throw new InvalidRequestError(`system.${i}.type`, 'expected "text"');
      }
      if (typeof b.text !== "string") fail(`system.${i}.text`, "a string", b.text);
    });
  }
  const count = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 1;
  if (kindOf === "messages") optional(body, "max_tokens", "an integer of at least 1", count);
  optional(body, "stream", "a boolean", (v) => typeof v === "boolean");
  optional(body, "temperature", "a number", (v) => typeof v === "number");
  optional(body, "top_p", "a number", (v) => typeof v === "number");
  optional(
    body,
    "stop_sequences",
    "an array of strings",
    (v) => Array.isArray(v) && v.every((s) => typeof s === "string"),
  );
  const tools = body.tools;
  if (tools !== undefined) {
    if (!Array.isArray(tools)) fail("tools", "an array", tools);
    tools.forEach((t, i) => {
      if (!isObj(t)) fail(`tools.${i}`, "an object", t);
      if (typeof t.name !== "string") fail(`tools.${i}.name`, "a string", t.name);
    });
  }
  const choice = body.tool_choice;
  if (choice !== undefined) {
    if (!isObj(choice)) fail("tool_choice", "an object", choice);
    if (typeof choice.type !== "string") fail("tool_choice.type", "a string", choice.type);
  }
  const thinking = body.thinking;
  if (thinking !== undefined) {
    if (!isObj(thinking)) fail("thinking", "an object", thinking);
    if (typeof thinking.type !== "string") fail("thinking.type", "a string", thinking.type);
    if (thinking.budget_tokens !== undefined && !count(thinking.budget_tokens)) {
      fail("thinking.budget_tokens", "an integer of at least 1", thinking.budget_tokens);
    }
  }
  const output = body.output_config;
  if (output !== undefined) {
    if (!isObj(output)) fail("output_config", "an object", output);
    if (output.effort !== undefined && typeof output.effort !== "string") {
      fail("output_config.effort", "a string", output.effort);
    }
  }
}

function blocks(content: unknown, at: string): void {
  if (typeof content === "string") return;
  if (!Array.isArray(content)) fail(at, "a string or an array of content blocks", content);
  content.forEach((b, i) => {
    if (!isObj(b)) fail(`${at}.${i}`, "an object", b);
    if (typeof b.type !== "string") fail(`${at}.${i}.type`, "a string", b.type);
    if (b.type === "text" && typeof b.text !== "string") {
      fail(`${at}.${i}.text`, "a string", b.text);
    }
  });
}
