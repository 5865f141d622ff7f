import { admin, type ForecastRow, type Quota } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { Empty, QueryView } from "../components/States";
import { StatCard } from "../components/StatCard";
import { formatInt, formatPercentValue } from "../lib/format";
import { formatUsd, formatUsdExact } from "../lib/money";
import { formatDateTime } from "../lib/time";

export function ForecastPage() {
  const forecast = useAdminQuery(admin.forecast, {});
  const quotas = useAdminQuery(admin.quotas, {});
  const budget = quotas.data?.find((q) => q.quotaType === "system_monthly_cost_usd" && q.isActive) ?? null;
  return (
    <section data-page="forecast">
      <PageHeader title="Forecast" subtitle="Month-end projection from the forecast job." />
      <QueryView
        state={forecast}
        isEmpty={(f) => f.rows.length === 0}
        empty={<Empty title="No forecast yet">The forecast job stores one projection a day once there is history.</Empty>}
      >
        {(f) => {
          const system = f.rows.filter((r) => r.scope === "system").sort((a, b) => (a.month < b.month ? -1 : 1));
          return (
            <>
              <p className="muted small">Computed {f.createdAt !== null ? formatDateTime(f.createdAt) : "—"}</p>
              {system.length === 0 ? <Empty title="No system-wide projection in this run" /> : system.map((r) => <Projection key={r.month} r={r} budget={budget} />)}
            </>
          );
        }}
      </QueryView>
    </section>
  );
}

/** One month's projection: the expected cost with its range, against the budget. */
function Projection({ r, budget }: { r: ForecastRow; budget: Quota | null }) {
  const limit = budget?.limitNanoUsd ?? null;
  const scaleMax = Math.max(r.costHighNanoUsd, limit ?? 0, 1);
  const pct = (v: number) => `${Math.min(100, (v / scaleMax) * 100)}%`;
  const verdict =
    limit === null ? null : r.costHighNanoUsd <= limit ? "within budget" : r.costLowNanoUsd > limit ? "over budget" : r.costNanoUsd > limit ? "likely over budget" : "may exceed budget";
  return (
    <div className="card" data-testid="projection">
      <h2>{r.month}</h2>
      <div className="stats">
        <StatCard testId="forecast-cost" label="Projected cost" value={formatUsd(r.costNanoUsd, 2)} title={formatUsdExact(r.costNanoUsd)} />
        <StatCard testId="forecast-range" label="Range" value={`${formatUsd(r.costLowNanoUsd, 2)} – ${formatUsd(r.costHighNanoUsd, 2)}`} />
        <StatCard testId="forecast-budget" label="Budget" value={limit === null ? "not set" : formatUsd(limit, 2)} hint={verdict ?? "set a system budget quota"} />
        <StatCard label="Tokens" value={formatInt(r.tokens)} hint={`${formatInt(r.tokensLow)} – ${formatInt(r.tokensHigh)}`} />
        {r.backtestMape !== null && <StatCard testId="forecast-mape" label="Back-test error" value={formatPercentValue(r.backtestMape)} hint={r.method} />}
      </div>
      <div className="range-bar" role="img" aria-label={`Projected ${formatUsd(r.costNanoUsd, 2)}, range ${formatUsd(r.costLowNanoUsd, 2)} to ${formatUsd(r.costHighNanoUsd, 2)}${limit !== null ? `, budget ${formatUsd(limit, 2)}` : ""}`}>
        <span className="band" style={{ left: pct(r.costLowNanoUsd), width: `calc(${pct(r.costHighNanoUsd)} - ${pct(r.costLowNanoUsd)})` }} />
        <span className="point" style={{ left: pct(r.costNanoUsd) }} />
        {limit !== null && <span className={`budget ${verdict === "within budget" ? "" : "over"}`} style={{ left: pct(limit) }} />}
      </div>
      <div className="range-legend muted small">
        <span>$0</span>
        <span>{formatUsd(scaleMax, 2)}</span>
      </div>
    </div>
  );
}
