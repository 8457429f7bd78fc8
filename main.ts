#!/usr/bin/env node
// ccmux entry point. Everything lives in src/cli/main.ts so tests can drive it in-process.
import process from "node:process";
import { main } from "./src/cli/main.ts";

main(process.argv.slice(2)).then((code) => {
  // Exit once stdout has drained, even if a command left a handle open.
  process.stdout.write("", () => process.exit(code));
});
