import { useMemo, useState } from "react";
import { admin, type Period, type SeriesPoint } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { Empty, QueryView } from "../components/States";
import { SeriesChart } from "../charts/SeriesChart";
import { DataTable } from "../components/DataTable";
import { Money } from "../components/Money";
import { formatCompact, formatInt, formatMs } from "../lib/format";
import { DAY_MS, formatDate, formatHour, formatMonth, HOUR_MS } from "../lib/time";
import { useNow } from "../lib/useNow";
import { useWindow } from "../lib/useWindow";
import { nanosToChartUsd } from "../lib/money";

/** How far back each period's series reaches. */
const SPAN: Record<Period, number> = { hourly: 48 * HOUR_MS, daily: 30 * DAY_MS, weekly: 84 * DAY_MS, monthly: 365 * DAY_MS };
const PERIODS: Period[] = ["hourly", "daily", "weekly", "monthly"];

function label(period: Period, ms: number) {
  if (period === "hourly") return formatHour(ms);
  if (period === "monthly") return formatMonth(ms);
  return formatDate(ms);
}

type Scope = { kind: "all" } | { kind: "user"; userId: string } | { kind: "model"; model: string };

export function UsagePage() {
  const [period, setPeriod] = useState<Period>("daily");
  const [scope, setScope] = useState<Scope>({ kind: "all" });
  const now = useNow();
  const to = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
  const args = useMemo(
    () => ({
      period,
      from: to - SPAN[period],
      to,
      ...(scope.kind === "user" ? { userId: scope.userId } : {}),
      ...(scope.kind === "model" ? { modelSlug: scope.model } : {}),
    }),
    [period, to, scope],
  );
  const series = useAdminQuery(admin.usageSeries, args);
  const month = useWindow("30d");
  const users = useAdminQuery(admin.topUsers, { ...month, by: "requests", limit: 100 });
  const models = useAdminQuery(admin.modelStats, month);

  const scopeValue = scope.kind === "user" ? `user:${scope.userId}` : scope.kind === "model" ? `model:${scope.model}` : "all";
  const onScope = (v: string) => {
    if (v.startsWith("user:")) setScope({ kind: "user", userId: v.slice(5) });
    else if (v.startsWith("model:")) setScope({ kind: "model", model: v.slice(6) });
    else setScope({ kind: "all" });
  };

  return (
    <section data-page="usage" data-args={JSON.stringify(args)}>
      <PageHeader title="Usage" subtitle="Requests, tokens and cost over time." />
      <div className="toolbar">
        <label>
          Period
          <select aria-label="Period" value={period} onChange={(e) => setPeriod(e.target.value as Period)}>
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          Filter
          <select aria-label="Filter" value={scopeValue} onChange={(e) => onScope(e.target.value)}>
            <option value="all">All traffic</option>
            <optgroup label="Model">
              {(models.data ?? []).map((m) => (
                <option key={m.model} value={`model:${m.model}`}>
                  {m.model}
                </option>
              ))}
            </optgroup>
            <optgroup label="User">
              {(users.data ?? []).map((u) => (
                <option key={u.userId} value={`user:${u.userId}`}>
                  {u.name ?? u.email ?? u.userId}
                </option>
              ))}
            </optgroup>
          </select>
        </label>
      </div>
      <QueryView state={series} isEmpty={(d) => d.length === 0} empty={<Empty title="No usage in this range">Try another period or filter.</Empty>}>
        {(points) => <UsageView period={period} points={points} />}
      </QueryView>
    </section>
  );
}

function UsageView({ period, points }: { period: Period; points: SeriesPoint[] }) {
  const chart = points.map((p) => ({
    label: label(period, p.periodStart),
    requests: p.requests,
    tokens: p.totalTokens,
    cost: nanosToChartUsd(p.costNanoUsd),
  }));
  return (
    <>
      <div className="grid-2">
        <div className="card">
          <h2>Requests and tokens</h2>
          <SeriesChart label="Requests per period" data={chart} x="label" kind="bar" series={[{ key: "requests", label: "Requests", color: "#2f5bea" }]} />
          <SeriesChart label="Tokens per period" data={chart} x="label" series={[{ key: "tokens", label: "Tokens", color: "#8e4ec6" }]} formatValue={formatCompact} height={180} />
        </div>
        <div className="card">
          <h2>Cost</h2>
          <SeriesChart label="Cost per period (USD)" data={chart} x="label" series={[{ key: "cost", label: "Cost (USD)", color: "#12a594" }]} formatValue={(v) => `$${v.toFixed(2)}`} height={424} />
        </div>
      </div>
      <div className="card">
        <DataTable
          testId="usage-table"
          rows={points}
          rowKey={(p) => String(p.periodStart)}
          initialSort={{ key: "period", dir: "desc" }}
          columns={[
            { key: "period", header: "Period", render: (p) => label(period, p.periodStart), sortValue: (p) => p.periodStart },
            { key: "requests", header: "Requests", align: "right", render: (p) => formatInt(p.requests), sortValue: (p) => p.requests },
            { key: "failed", header: "Failed", align: "right", render: (p) => formatInt(p.failed), sortValue: (p) => p.failed },
            { key: "tokens", header: "Tokens", align: "right", render: (p) => formatInt(p.totalTokens), sortValue: (p) => p.totalTokens },
            { key: "cost", header: "Cost", align: "right", render: (p) => <Money nanos={p.costNanoUsd} />, sortValue: (p) => p.costNanoUsd },
            { key: "latency", header: "Avg latency", align: "right", render: (p) => formatMs(p.avgProcessingMs), sortValue: (p) => p.avgProcessingMs },
          ]}
        />
      </div>
    </>
  );
}
