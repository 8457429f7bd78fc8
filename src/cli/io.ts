// Injectable I/O for commands (after gh's IOStreams): tests drive commands in-process with
// fake streams; main.ts passes the real ones.
import process from "node:process";

/** What a command may touch of the outside world besides files and sockets. */
export interface Io {
  /** Data for pipes. */
  out(text: string): void;
  /** Human messages. Never a secret. */
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Standard input as a byte stream (login's paste mode reads one line of it). */
  stdin: () => AsyncIterable<Uint8Array | string>;
  /** True when stderr is a terminal (colors, prompts). */
  isTty: boolean;
}

/** The process's real streams. */
export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    env: process.env,
    stdin: () => process.stdin,
    isTty: Boolean(process.stderr.isTTY),
  };
}

/** A failure the user caused or can fix; main prints `ccmux: <message>` and exits with `code`. */
export class CliError extends Error {
  constructor(message: string, readonly code = 1) {
    super(message);
    this.name = "CliError";
  }
}

/** A wrong flag, a missing argument or a bad value: exit 2 with a usage hint. */
export class UsageError extends CliError {
  constructor(message: string, readonly command?: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}
