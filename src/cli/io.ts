// Injectable I/O for commands (after gh's IOStreams): tests drive commands in-process with
// fake streams; main.ts passes the real ones.
import { Buffer } from "node:buffer";
import { writeSync } from "node:fs";
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
  /** True when stdin is a terminal (a prompt can be answered). */
  stdinTty?: boolean;
}

/** The process's real streams. */
export function processIo(): Io {
  return {
    out: writeStdout,
    err: (text) => {
      streamUsed = true;
      process.stderr.write(text);
    },
    env: process.env,
    stdin: () => process.stdin,
    // Lazy: process.stderr (like process.stdout) loads node:stream on first use, ~2 ms that
    // `ccmux token` does not need.
    get isTty() {
      return Boolean(process.stderr.isTTY);
    },
    get stdinTty() {
      return Boolean(process.stdin.isTTY);
    },
  };
}

let stdoutStream = false;
let streamUsed = false;

/**
 * Writes to fd 1 with a plain write(2) while that works: creating process.stdout costs
 * `ccmux token` ~2–3 ms of module loading. A pipe that would block (EAGAIN) or anything else
 * unusual switches to process.stdout for good, so the order of the output is kept.
 */
export function writeStdout(text: string): void {
  if (stdoutStream) {
    process.stdout.write(text);
    return;
  }
  const bytes = Buffer.from(text, "utf8");
  let off = 0;
  try {
    while (off < bytes.length) off += writeSync(1, bytes, off, bytes.length - off);
  } catch {
    stdoutStream = streamUsed = true;
    process.stdout.write(bytes.subarray(off));
  }
}

/**
 * True once processIo wrote through process.stdout or process.stderr, whose writes may still
 * be flushing (pipes are asynchronous on macOS); false when all output went out with write(2).
 */
export function streamsUsed(): boolean {
  return streamUsed;
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
