import { admin, type Period } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";
import { Empty, QueryView } from "../../components/States";
import { SeriesChart } from "../../charts/SeriesChart";
import { SERIES } from "../../charts/theme";
import { nanosToChartUsd } from "../../lib/money";
import type { Window } from "../../lib/range";
import { labelOfPeriodKey } from "../../lib/time";

const HOUR = 3_600_000;

/**
 * Hours for up to two days, days up to 92 (and the 2 h a DST change adds to
 * 92 local days), else months: as the admin reads choose (granularityFor),
 * so the chart shows the periods the user's totals count.
 */
export function periodFor(win: Window): Period {
  const span = win.to - win.from;
  return span <= 48 * HOUR ? "hourly" : span <= 92 * 24 * HOUR + 2 * HOUR ? "daily" : "monthly";
}

/** The user's requests and cost per period of the range (llmmeter:usageSeries for one user). */
export function UserUsageChart({ userId, win }: { userId: string; win: Window }) {
  const args = { userId, period: periodFor(win), ...win };
  const series = useAdminQuery(admin.usageSeries, args);
  return (
    <div className="card" data-testid="user-usage" data-args={JSON.stringify(args)}>
      <h2>Usage over the range</h2>
      <QueryView state={series} isEmpty={(d) => d.length === 0} empty={<Empty title="No usage in this range" />}>
        {(points) => {
          const data = points.map((p) => ({ label: labelOfPeriodKey(p.periodKey), requests: p.requests, cost: nanosToChartUsd(p.costNanoUsd) }));
          return (
            <div className="grid-2">
              <SeriesChart label="Requests per period" data={data} x="label" kind="bar" series={[{ key: "requests", label: "Requests", color: SERIES.blue }]} height={200} />
              <SeriesChart label="Cost per period (USD)" data={data} x="label" series={[{ key: "cost", label: "Cost (USD)", color: SERIES.teal }]} formatValue={(v) => `$${v.toFixed(2)}`} height={200} />
            </div>
          );
        }}
      </QueryView>
    </div>
  );
}
