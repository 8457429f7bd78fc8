// describeError (src/errors.ts): the one-line reason shared by failover steps and token refresh.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { describeError } from "../src/errors.ts";

describe("describeError", () => {
  test("connection codes, other codes, Deno messages, causes, first line only", () => {
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), {
        code: "ECONNREFUSED",
      }),
    });
    assert.equal(describeError(refused), "connect ECONNREFUSED");
    assert.equal(
      describeError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })),
      "ECONNRESET",
    );
    assert.equal(
      describeError(
        new TypeError(
          "error sending request: tcp connect error: Connection refused (os error 111)",
        ),
      ),
      "connect ECONNREFUSED",
    );
    assert.equal(
      describeError(new Error("invalid response", { cause: new Error("bad body") })),
      "invalid response (bad body)",
    );
    assert.equal(describeError(new Error("line one\nline two")), "line one");
    assert.equal(describeError("plain"), "plain");
  });
});
