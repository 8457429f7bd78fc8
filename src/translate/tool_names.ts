// Tool names within an upstream's length limit (OpenAI: 64 characters; MCP tools such as
// "mcp__server-with-a-long-name__tool_with_a_long_name" exceed it) and mapped back on the way
// out, so the client sees the names it defined.
//
// A long name becomes, in order of preference: "mcp__<last segment>" for MCP tools, when that
// fits and no other tool has it; else its first 55 characters + "_" + 8 hex of its sha256.
// Both depend only on the name and the set of names, not on their order, so the same name
// maps the same way on every turn while the tool set stays the same.
import { createHash } from "node:crypto";

export const MAX_TOOL_NAME = 64;

function hashed(name: string, max: number): string {
  const hex = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, max - 9)}_${hex}`;
}

/** The mapping between client tool names and the upstream's (short) ones. */
export class ToolNames {
  #toUpstream = new Map<string, string>();
  #toClient = new Map<string, string>();
  #max: number;

  /** `names`: the request's tool names (duplicates are ignored). */
  constructor(names: Iterable<string>, max = MAX_TOOL_NAME) {
    this.#max = max;
    const all = new Set(names);
    const taken = new Set<string>();
    for (const n of all) if (n.length <= max) taken.add(n);
    const long = [...all].filter((n) => n.length > max).sort();
    // MCP short forms claimed by more than one long name go to none of them.
    const mcpCount = new Map<string, number>();
    for (const n of long) {
      const s = mcpShort(n, max);
      if (s) mcpCount.set(s, (mcpCount.get(s) ?? 0) + 1);
    }
    for (const n of long) {
      let short = mcpShort(n, max);
      if (!short || taken.has(short) || mcpCount.get(short)! > 1) short = hashed(n, max);
      taken.add(short);
      this.#toUpstream.set(n, short);
      this.#toClient.set(short, n);
    }
  }

  /** True when no name had to be shortened. */
  get identity(): boolean {
    return this.#toUpstream.size === 0;
  }

  /** The name the upstream is sent (names not among the tools are shortened the same way). */
  upstream(name: string): string {
    return this.#toUpstream.get(name) ??
      (name.length <= this.#max ? name : hashed(name, this.#max));
  }

  /** The client's name for a name the upstream used. */
  client(name: string): string {
    return this.#toClient.get(name) ?? name;
  }
}

function mcpShort(name: string, max: number): string | undefined {
  if (!name.startsWith("mcp__")) return undefined;
  const last = name.slice(name.lastIndexOf("__") + 2);
  const s = `mcp__${last}`;
  return last && s.length <= max ? s : undefined;
}
