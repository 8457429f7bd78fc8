// The one place that asks "Deno or Node?" for process-level facts.
import process from "node:process";

interface DenoGlobal {
  version: { deno: string };
}

/** The Deno namespace when running on Deno, else undefined. */
export function denoGlobal(): DenoGlobal | undefined {
  return (globalThis as unknown as { Deno?: DenoGlobal }).Deno;
}

/** True when this process runs on Deno. */
export const isDeno: boolean = denoGlobal() !== undefined;

/** "deno v2.x.y" or "node v20.x.y". */
export function runtimeLabel(): string {
  const deno = denoGlobal();
  return deno ? `deno v${deno.version.deno}` : `node ${process.version}`;
}
