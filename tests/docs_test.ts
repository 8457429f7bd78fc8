// The project's docs and code stand on their own: a maintainer or user reading README.md, docs/,
// src/, scripts/, tests/ or config/ has none of the team's planning documents or issue tracker, so
// nothing there may cite them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "./helpers/cli.ts";

/** Names of documents only the team has, and issue numbers ("issue 9", "issue #12"). */
const CITATION =
  /\bCONTRACT(\.md)?\b|\bDESIGN\.md\b|\b(OAUTH|PROVIDER|CLAUDE_CODE)_FACTS\b|\bissues? #?\d+\b/i;

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(ts|mjs|js|md|toml|sh|service|plist|lua)$/.test(name)) yield path;
  }
}

test("no file of the project cites the team's planning documents or issue numbers", () => {
  const roots = ["README.md", "docs", "src", "scripts", "tests", "config", "main.ts", "mod.ts"];
  const hits: string[] = [];
  for (const root of roots) {
    const abs = join(ROOT, root);
    const list = statSync(abs).isDirectory() ? [...files(abs)] : [abs];
    for (const file of list) {
      if (file.endsWith("docs_test.ts")) continue; // this file names what it looks for
      readFileSync(file, "utf8").split("\n").forEach((line, i) => {
        if (CITATION.test(line)) hits.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(hits, [], `cite the project's own docs instead:\n${hits.join("\n")}`);
});
