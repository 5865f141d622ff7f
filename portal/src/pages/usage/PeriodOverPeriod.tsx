import type { FunctionReturnType } from "convex/server";
import { admin } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";
import { formatInt } from "../../lib/format";
import { formatUsd } from "../../lib/money";
import { startOfHour } from "../../lib/calendar";
import { labelOfPeriodKey } from "../../lib/time";
import { useNow } from "../../lib/useNow";
import { useReportingTz } from "../../lib/useRange";

type Comparison = FunctionReturnType<typeof admin.periodOverPeriod>;

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** The compared measures, in table order: a field of both sides and of change. */
const MEASURES: { key: string; label: string; field: "requests" | "totalTokens" | "costNanoUsd"; format: (n: number) => string }[] = [
  { key: "requests", label: "Requests", field: "requests", format: formatInt },
  { key: "tokens", label: "Tokens", field: "totalTokens", format: formatInt },
  { key: "cost", label: "Cost", field: "costNanoUsd", format: (n) => formatUsd(n) },
];

/** A change in percent as llmmeter:periodOverPeriod gives it (one decimal): "+12.5%", "−3.0%", "—" without a base. */
export function formatChange(pct: number | null): string {
  if (pct === null) return "—";
  return `${pct > 0 ? "+" : pct < 0 ? "−" : "±"}${Math.abs(pct).toFixed(1)}%`;
}

/**
 * This week against last week and this month against last month, like for
 * like (the first k days of each), for the Usage page's subject. The
 * percentages are the read's own; this only formats them.
 */
export function PeriodOverPeriod({ userId, model }: { userId?: string; model?: string }) {
  // The hour is enough (the comparison is by whole days), and keeps the
  // arguments still for an hour; but the reporting zone's hour: a UTC hour
  // begins inside the zone's previous day where the offset is not whole
  // hours (Asia/Kolkata +05:30), which compared November at 00:10 on 1 December.
  const tz = useReportingTz();
  const now = useNow();
  const at = tz === undefined ? undefined : startOfHour(now, tz);
  const subject = { ...(userId !== undefined ? { userId } : {}), ...(model !== undefined ? { modelSlug: model } : {}) };
  const week = useAdminQuery(admin.periodOverPeriod, at === undefined ? "skip" : { period: "weekly", at, ...subject });
  const month = useAdminQuery(admin.periodOverPeriod, at === undefined ? "skip" : { period: "monthly", at, ...subject });
  return (
    <div className="grid-2" data-testid="period-over-period" data-at={at}>
      <ComparisonCard testId="pop-weekly" title="This week against last week" state={week} span={(c) => `Mon–${WEEKDAYS[c.day - 1]}`} />
      <ComparisonCard testId="pop-monthly" title="This month against last month" state={month} span={(c) => `days 1–${c.day}`} />
    </div>
  );
}

function ComparisonCard({
  testId,
  title,
  state,
  span,
}: {
  testId: string;
  title: string;
  state: { data: Comparison | undefined; error: unknown };
  span: (c: Comparison) => string;
}) {
  const c = state.data;
  return (
    <div className="card" data-testid={testId}>
      <h2>{title}</h2>
      {c === undefined ? (
        <p className="muted">{state.error ? "Could not load the comparison." : "Loading…"}</p>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={`${title}, scrollable`}>
          <table className="data-table">
            <caption>
              {labelOfPeriodKey(c.current.periodKey)} against {labelOfPeriodKey(c.previous.periodKey)}, {span(c)} of each
            </caption>
            <thead>
              <tr>
                <th scope="col">Measure</th>
                <th scope="col" className="num">{labelOfPeriodKey(c.current.periodKey)}</th>
                <th scope="col" className="num">{labelOfPeriodKey(c.previous.periodKey)}</th>
                <th scope="col" className="num">Change</th>
              </tr>
            </thead>
            <tbody>
              {MEASURES.map((m) => (
                <tr key={m.key} data-measure={m.key}>
                  <th scope="row">{m.label}</th>
                  <td className="num">{m.format(c.current[m.field])}</td>
                  <td className="num">{m.format(c.previous[m.field])}</td>
                  <td className="num" data-change>{formatChange(c.change[m.field])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
