import { admin, type SeriesPoint } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";
import { SeriesChart } from "../../charts/SeriesChart";
import { Empty, QueryView } from "../../components/States";
import { useWindow } from "../../lib/useWindow";
import { formatHour } from "../../lib/time";
import { nanosToChartUsd } from "../../lib/money";

function rows(points: SeriesPoint[]) {
  return points.map((p) => ({
    label: formatHour(p.periodStart),
    successful: p.successful,
    failed: p.failed,
    cost: nanosToChartUsd(p.costNanoUsd),
  }));
}

/** Request volume and cost per hour over the last 24 hours. */
export function LiveCharts() {
  const win = useWindow("24h");
  const series = useAdminQuery(admin.usageSeries, { period: "hourly", ...win });
  return (
    <div className="grid-2">
      <div className="card">
        <h2>Request volume · last 24 h</h2>
        <QueryView state={series} isEmpty={(d) => d.length === 0} empty={<Empty title="No requests in the last 24 hours" />}>
          {(d) => (
            <SeriesChart
              label="Requests per hour"
              data={rows(d)}
              x="label"
              kind="bar"
              stacked
              series={[
                { key: "successful", label: "Successful", color: "#2f5bea" },
                { key: "failed", label: "Failed", color: "#e5484d" },
              ]}
            />
          )}
        </QueryView>
      </div>
      <div className="card">
        <h2>Cost · last 24 h</h2>
        <QueryView state={series} isEmpty={(d) => d.length === 0} empty={<Empty title="No cost in the last 24 hours" />}>
          {(d) => (
            <SeriesChart
              label="Cost per hour (USD)"
              data={rows(d)}
              x="label"
              series={[{ key: "cost", label: "Cost (USD)", color: "#12a594" }]}
              formatValue={(v) => `$${v.toFixed(v < 1 ? 4 : 2)}`}
            />
          )}
        </QueryView>
      </div>
    </div>
  );
}
