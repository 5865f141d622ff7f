import { describe, expect, it } from "vitest";
import { compareParam, MAX_COMPARED, parseCompare } from "../src/pages/usage/Compare";
import { formatChange } from "../src/pages/usage/PeriodOverPeriod";

describe("parseCompare", () => {
  it.each([
    // absent or empty: nothing compared
    [undefined, []],
    ["", []],
    // models, in order
    ["model:a,model:b", [{ kind: "model", id: "a" }, { kind: "model", id: "b" }]],
    // one kind only: the first decides, the other is dropped
    ["user:u_1,model:a,user:u_2", [{ kind: "user", id: "u_1" }, { kind: "user", id: "u_2" }]],
    // each once, and nothing that is not kind:id
    ["model:a,model:a,junk,model:", [{ kind: "model", id: "a" }]],
    // a slug with a colon keeps it
    ["model:openai/gpt-4o:free", [{ kind: "model", id: "openai/gpt-4o:free" }]],
  ])("%s", (param, want) => expect(parseCompare(param)).toEqual(want));

  it(`keeps at most ${MAX_COMPARED}`, () => {
    const param = Array.from({ length: 8 }, (_, i) => `model:m${i}`).join(",");
    expect(parseCompare(param).map((s) => s.id)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });

  it("round-trips through compareParam", () => {
    const s = parseCompare("user:u_1,user:u_2");
    expect(parseCompare(compareParam(s))).toEqual(s);
    expect(compareParam([])).toBeUndefined();
  });
});

describe("formatChange", () => {
  it.each([
    [null, "—"], // no previous value: no percentage
    [300, "+300.0%"],
    [-16.7, "−16.7%"],
    [0, "±0.0%"],
  ])("%s → %s", (pct, want) => expect(formatChange(pct)).toBe(want));
});
