import { describe, expect, it } from "vitest";
import { MAX_TOPIC_BYTES, topicError, topicProblem } from "./topics.js";

describe("topicProblem", () => {
  it("accepts the names and filters MQTT allows, empty levels included", () => {
    for (const name of ["a", "plant/line1/level", "/a", "a//b", "a/", "é/ü", "$SYS/x"])
      expect(topicProblem(name, "name"), name).toBeUndefined();
    for (const filter of ["#", "+", "a/#", "a/+/b", "+/+", "/#", "a//+", "+/#"])
      expect(topicProblem(filter, "filter"), filter).toBeUndefined();
  });

  it("names what is wrong with each topic MQTT refuses", () => {
    expect(topicProblem("", "name")).toBe("a topic name cannot be empty");
    expect(topicProblem("", "filter")).toBe("a topic filter cannot be empty");
    expect(topicProblem("a/+", "name")).toMatch(/cannot hold the wildcard \+/);
    expect(topicProblem("a/#", "name")).toMatch(/cannot hold the wildcard #/);
    expect(topicProblem("a/#/b", "filter")).toBe("# must be the last level of a filter");
    expect(topicProblem("a/b#", "filter")).toBe("# must stand alone in its level");
    expect(topicProblem("a/b+/c", "filter")).toBe("+ must stand alone in its level");
    expect(topicProblem("a\u0000b", "name")).toMatch(/null character/);
  });

  it("counts the limit in UTF-8 bytes, not characters", () => {
    expect(topicProblem("a".repeat(MAX_TOPIC_BYTES), "name")).toBeUndefined();
    expect(topicProblem("a".repeat(MAX_TOPIC_BYTES + 1), "name")).toMatch(
      /at most 65535 UTF-8 bytes; this one has 65536/,
    );
    // 32,768 two-byte characters: fewer characters than the limit, more bytes.
    expect(topicProblem("é".repeat(32_768), "filter")).toMatch(/this one has 65536/);
  });
});

describe("topicError", () => {
  it("is a coded TOPIC_INVALID error with a remedy for a topic MQTT refuses, undefined for a valid one", () => {
    expect(topicError("plant/line1/level", "name")).toBeUndefined();
    // Checked once, a valid name stays valid: the second call is answered from memory, the same way.
    expect(topicError("plant/line1/level", "name")).toBeUndefined();
    expect(topicError("plant/+/level", "filter")).toBeUndefined();
    const invalid = topicError("plant/+/level", "name");
    expect(invalid).toMatchObject({ name: "MqttTlsError", code: "TOPIC_INVALID" });
    expect(invalid?.message).toMatch(/^"plant\/\+\/level": a topic name cannot hold the wildcard \+/);
    expect(invalid?.remedy).toEqual(expect.any(String));
    expect(topicError("a/#/b", "filter")?.code).toBe("TOPIC_INVALID");
  });

  it("shows a long topic shortened in its message", () => {
    const message = topicError(`${"x".repeat(100)}/#`, "name")?.message ?? "";
    expect(message.startsWith(`"${"x".repeat(60)}…"`)).toBe(true);
  });
});
