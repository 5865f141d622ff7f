import { describe, expect, it } from "vitest";
import { wrapLabel } from "../src/charts/wrapLabel";

describe("wrapLabel: a model id on a chart axis, whole", () => {
  it.each([
    // short: one line
    ["openai/gpt-4o", ["openai/gpt-4o"]],
    // breaks after the provider's "/"
    ["anthropic/claude-3.5-sonnet", ["anthropic/claude-3.5", "-sonnet"]],
    // and before a "-" when a part would overflow
    ["meta-llama/llama-3.1-405b-instruct", ["meta-llama/llama-3.1", "-405b-instruct"]],
    // a part longer than a line is cut inside the word, only then
    ["x/abcdefghijklmnopqrstuvwxyz0123", ["x/", "abcdefghijklmnopqrstuvwx", "yz0123"]],
    ["", []],
  ])("%s", (name, lines) => {
    const got = wrapLabel(name);
    expect(got).toEqual(lines);
    expect(got.join("")).toBe(name);
    for (const l of got) expect(l.length).toBeLessThanOrEqual(24);
  });
});
