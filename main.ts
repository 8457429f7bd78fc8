#!/usr/bin/env node
// ccmux entry point. Everything lives in src/cli/main.ts so tests can drive it in-process.
import process from "node:process";
import { main } from "./src/cli/main.ts";
import { streamsUsed } from "./src/cli/io.ts";

main(process.argv.slice(2)).then((code) => {
  // Exit even if a command left a handle open: at once when all output went out with
  // write(2) (`ccmux token`: creating process.stdout just to drain it costs ~2 ms), else once
  // stdout has drained.
  if (!streamsUsed()) process.exit(code);
  process.stdout.write("", () => process.exit(code));
});
