import { admin } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";
import { Empty, QueryView } from "../../components/States";
import { Money } from "../../components/Money";
import { TotalsTable } from "../../components/TotalsTable";
import { downloadText } from "../../lib/download";
import { formatInt, plural } from "../../lib/format";
import { labelOfPeriodKey } from "../../lib/time";
import { useCurrentMonth, useQueryParam } from "../../lib/useRange";
import { statementCsv, statementJson, type UserStatement } from "./statementFiles";

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/**
 * A user's monthly statement (llmmeter:userStatement): totals, cost by model
 * and by day, downloadable as CSV and JSON. The month is ?month=YYYY-MM,
 * default the current month of the reporting time zone.
 */
export function Statement({ userId }: { userId: string }) {
  const [param, setParam] = useQueryParam("month");
  const current = useCurrentMonth();
  const month = param !== undefined && MONTH.test(param) ? param : current;
  const statement = useAdminQuery(admin.userStatement, month === undefined ? "skip" : { userId, month });
  return (
    <div className="card" data-testid="statement" data-month={month}>
      <h2>Statement</h2>
      <div className="toolbar">
        <label>
          Month
          <input type="month" aria-label="Statement month" value={month ?? ""} onChange={(e) => setParam(MONTH.test(e.target.value) && e.target.value !== current ? e.target.value : undefined)} />
        </label>
        {statement.data && <Downloads s={statement.data} />}
      </div>
      <QueryView state={statement} isEmpty={(s) => s.byDay.length === 0 && s.byModel.length === 0} empty={<Empty title="No usage this month" />}>
        {(s) => <StatementView s={s} />}
      </QueryView>
    </div>
  );
}

function Downloads({ s }: { s: UserStatement }) {
  const base = `statement-${s.userId}-${s.month}`;
  return (
    <>
      <button type="button" className="btn" onClick={() => downloadText(`${base}.csv`, statementCsv(s), "text/csv")}>
        Download statement CSV
      </button>
      <button type="button" className="btn" onClick={() => downloadText(`${base}.json`, statementJson(s), "application/json")}>
        Download statement JSON
      </button>
    </>
  );
}

function StatementView({ s }: { s: UserStatement }) {
  return (
    <>
      <p data-testid="statement-totals">
        <strong>
          <Money nanos={s.totals.costNanoUsd} />
        </strong>{" "}
        · {plural(s.totals.requests, "request")} ({formatInt(s.totals.failed)} failed) · {plural(s.totals.totalTokens, "token")} ({formatInt(s.totals.promptTokens)} prompt, {formatInt(s.totals.completionTokens)} completion)
      </p>
      {!s.byModelComplete && (
        <p className="muted small" role="note">
          Cost by model covers the first {plural(s.usageRows, "generation")} of the month; the totals and days cover all.
        </p>
      )}
      <TotalsTable
        testId="statement-models"
        caption="Cost by model"
        nameHeader="Model"
        countHeader="Generations"
        nameClassName="mono"
        rows={s.byModel.map((m) => ({ key: m.model, name: m.model, count: m.generations, tokens: m.totalTokens, costNanos: m.costNanoUsd }))}
      />
      <TotalsTable
        testId="statement-days"
        caption="Cost by day"
        nameHeader="Day"
        countHeader="Requests"
        rows={s.byDay.map((d) => ({ key: d.periodKey, name: labelOfPeriodKey(d.periodKey), count: d.requests, tokens: d.totalTokens, costNanos: d.costNanoUsd }))}
      />
    </>
  );
}
