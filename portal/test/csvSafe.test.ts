import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { csvSafeText } from "../src/lib/csvSafe";

// The table the service's csvsafe.Text is held to (internal/csvsafe): both
// languages apply one rule. vitest runs from portal/ (npm test).
const cases = JSON.parse(readFileSync(resolve(process.cwd(), "../internal/csvsafe/testdata/cells.json"), "utf8")) as [string, string][];

describe("csvSafeText", () => {
  it("has the shared table", () => expect(cases.length).toBeGreaterThanOrEqual(10));
  it.each(cases)("%j → %j", (input, want) => expect(csvSafeText(input)).toBe(want));
});
