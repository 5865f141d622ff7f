import { admin, type SeriesPoint } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";
import { SeriesChart } from "../../charts/SeriesChart";
import { SERIES } from "../../charts/theme";
import { Empty, QueryView } from "../../components/States";
import { labelOfPeriodKey } from "../../lib/time";
import type { Window } from "../../lib/range";
import { nanosToChartUsd } from "../../lib/money";

function rows(points: SeriesPoint[]) {
  return points.map((p) => ({
    label: labelOfPeriodKey(p.periodKey),
    successful: p.successful,
    failed: p.failed,
    cost: nanosToChartUsd(p.costNanoUsd),
  }));
}

/** Request volume and cost over the page's window: per hour up to 48 h, else per day. */
export function LiveCharts({ win }: { win: Window }) {
  const hourly = win.to - win.from <= 48 * 3_600_000;
  const unit = hourly ? "hour" : "day";
  const series = useAdminQuery(admin.usageSeries, { period: hourly ? "hourly" : "daily", ...win });
  return (
    <div className="grid-2">
      <div className="card">
        <h2>Request volume per {unit}</h2>
        <QueryView state={series} isEmpty={(d) => d.length === 0} empty={<Empty title="No requests in this range" />}>
          {(d) => (
            <SeriesChart
              label={`Requests per ${unit}`}
              data={rows(d)}
              x="label"
              kind="bar"
              stacked
              series={[
                { key: "successful", label: "Successful", color: SERIES.blue },
                { key: "failed", label: "Failed", color: SERIES.red },
              ]}
            />
          )}
        </QueryView>
      </div>
      <div className="card">
        <h2>Cost per {unit}</h2>
        <QueryView state={series} isEmpty={(d) => d.length === 0} empty={<Empty title="No cost in this range" />}>
          {(d) => (
            <SeriesChart
              label={`Cost per ${unit} (USD)`}
              data={rows(d)}
              x="label"
              series={[{ key: "cost", label: "Cost (USD)", color: SERIES.teal }]}
              formatValue={(v) => `$${v.toFixed(v < 1 ? 4 : 2)}`}
            />
          )}
        </QueryView>
      </div>
    </div>
  );
}
