// Re-renders docs/BENCHMARKS.md from a saved results.json (no measuring):
//   node --import tsx scripts/bench/report_cli.ts .bench-tmp/run-…/results.json [out.md]
import { readFileSync } from "node:fs";
import process from "node:process";
import { writeReport } from "./report.ts";
import type { Results } from "./results.ts";

const [file, out = "docs/BENCHMARKS.md"] = process.argv.slice(2);
if (!file) {
  console.error("usage: report_cli.ts RESULTS.json [OUT.md]");
  process.exit(2);
}
writeReport(JSON.parse(readFileSync(file, "utf8")) as Results, out);
