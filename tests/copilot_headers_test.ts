// X-Initiator decides whether a Copilot request counts as the person's (a premium request) or
// the agent's: Claude Code's own `<system-reminder>` notes beside tool results are not a turn.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initiator } from "../src/proxy/copilot_headers.ts";

const result = { type: "tool_result", tool_use_id: "toolu_1", content: "file text" };
const reminder = {
  type: "text",
  text: "<system-reminder>\nThe TodoWrite tool hasn't been used recently.\n</system-reminder>",
};
const user = (...content: unknown[]) => ({ messages: [{ role: "user", content }] });

test("X-Initiator: tool results with Claude Code's reminders are the agent's turn", () => {
  assert.equal(initiator(user(result)), "agent");
  assert.equal(initiator(user(result, reminder)), "agent");
  assert.equal(initiator(user(reminder, result, reminder)), "agent");
});

test("X-Initiator: the person's words make it a user turn", () => {
  assert.equal(initiator(user(result, { type: "text", text: "and also fix the test" })), "user");
  assert.equal(
    initiator(user(result, { type: "text", text: "<system-reminder>x</system-reminder> do it" })),
    "user",
  );
  assert.equal(initiator(user(reminder)), "user"); // no tool result: nothing the agent asked for
  assert.equal(initiator({ messages: [{ role: "user", content: "hi" }] }), "user");
  assert.equal(initiator({ messages: [] }), "user");
});
