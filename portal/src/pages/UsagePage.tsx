import { useMemo } from "react";
import { admin, type Period, type SeriesPoint } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { Empty, QueryView } from "../components/States";
import { SeriesChart } from "../charts/SeriesChart";
import { SERIES } from "../charts/theme";
import { DataTable } from "../components/DataTable";
import { Money } from "../components/Money";
import { formatCompact, formatInt, formatMs } from "../lib/format";
import { formatDate, labelOfPeriodKey } from "../lib/time";
import { wholePeriods } from "../lib/range";
import { useRange } from "../lib/useRange";
import { nanosToChartUsd } from "../lib/money";
import { useRouter } from "../router/router";
import { UsageExport } from "./usage/UsageExport";
import { Compare } from "./usage/Compare";
import { PeriodOverPeriod } from "./usage/PeriodOverPeriod";

const PERIODS: Period[] = ["hourly", "daily", "weekly", "monthly"];

export function UsagePage() {
  const { search, setQuery } = useRouter();
  const q = new URLSearchParams(search);
  const period: Period = PERIODS.find((p) => p === q.get("period")) ?? "daily";
  // The filter is ?user=<id> or ?model=<slug> (the admin functions take one or the other).
  const userId = q.get("user") ?? undefined;
  const model = userId === undefined ? (q.get("model") ?? undefined) : undefined;
  const range = useRange({ key: "30d" });
  const win = range.win;
  // The series' own window: whole weeks or months, not only those starting in the range.
  const seriesWin = useMemo(() => (win && range.tz ? wholePeriods(win, period, range.tz) : win), [win, period, range.tz]);
  const widened = win && seriesWin && (seriesWin.from !== win.from || seriesWin.to !== win.to) ? seriesWin : undefined;
  const args = useMemo(
    () =>
      seriesWin && {
        period,
        ...seriesWin,
        ...(userId !== undefined ? { userId } : {}),
        ...(model !== undefined ? { modelSlug: model } : {}),
      },
    [period, seriesWin, userId, model],
  );
  const series = useAdminQuery(admin.usageSeries, args ?? "skip");
  const users = useAdminQuery(admin.topUsers, win ? { ...win, by: "requests", limit: 100 } : "skip");
  const models = useAdminQuery(admin.modelStats, win ?? "skip");

  const scopeValue = userId !== undefined ? `user:${userId}` : model !== undefined ? `model:${model}` : "all";
  const onScope = (v: string) => {
    if (v.startsWith("user:")) setQuery({ user: v.slice(5), model: undefined });
    else if (v.startsWith("model:")) setQuery({ model: v.slice(6), user: undefined });
    else setQuery({ user: undefined, model: undefined });
  };

  return (
    <section data-page="usage" data-args={JSON.stringify(args)}>
      <PageHeader
        title="Usage"
        subtitle="Requests, tokens and cost over time."
        actions={
          <>
            <RangePicker range={range} />
            <UsageExport view={args && series.data ? { ...args, timeZone: range.tz, points: series.data } : undefined} />
          </>
        }
      />
      <div className="toolbar">
        <label>
          Period
          <select aria-label="Period" value={period} onChange={(e) => setQuery({ period: e.target.value === "daily" ? undefined : e.target.value })}>
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
            {/* A filter from the URL that has no traffic in this range stays selectable. */}
            {userId !== undefined && !(users.data ?? []).some((u) => u.userId === userId) && <option value={scopeValue}>user {userId}</option>}
            {model !== undefined && !(models.data ?? []).some((m) => m.model === model) && <option value={scopeValue}>{model}</option>}
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
      {widened && (
        <p className="muted small" role="note" data-testid="whole-periods">
          Whole {period === "weekly" ? "weeks" : "months"}: {formatDate(widened.from, range.tz)} to {formatDate(widened.to - 1, range.tz)}, wider than the range.
        </p>
      )}
      <QueryView state={series} isEmpty={(d) => d.length === 0} empty={<Empty title="No usage in this range">Try another period or filter.</Empty>}>
        {(points) => <UsageView points={points} />}
      </QueryView>
      <PeriodOverPeriod userId={userId} model={model} />
      <Compare period={period} win={seriesWin} users={(users.data ?? []).map((u) => ({ id: u.userId, name: u.name ?? u.email ?? u.userId }))} models={(models.data ?? []).map((m) => m.model)} />
    </section>
  );
}

function UsageView({ points }: { points: SeriesPoint[] }) {
  const chart = points.map((p) => ({
    label: labelOfPeriodKey(p.periodKey),
    requests: p.requests,
    tokens: p.totalTokens,
    cost: nanosToChartUsd(p.costNanoUsd),
  }));
  return (
    <>
      <div className="grid-2">
        <div className="card">
          <h2>Requests and tokens</h2>
          <SeriesChart label="Requests per period" data={chart} x="label" kind="bar" series={[{ key: "requests", label: "Requests", color: SERIES.blue }]} withTable={false} />
          <SeriesChart label="Tokens per period" data={chart} x="label" series={[{ key: "tokens", label: "Tokens", color: SERIES.purple }]} withTable={false} formatValue={formatCompact} height={180} />
        </div>
        <div className="card">
          <h2>Cost</h2>
          <SeriesChart label="Cost per period (USD)" data={chart} x="label" series={[{ key: "cost", label: "Cost (USD)", color: SERIES.teal }]} withTable={false} formatValue={(v) => `$${v.toFixed(2)}`} height={424} />
        </div>
      </div>
      <div className="card">
        <DataTable
          testId="usage-table"
          rows={points}
          rowKey={(p) => String(p.periodStart)}
          initialSort={{ key: "period", dir: "desc" }}
          columns={[
            { key: "period", header: "Period", render: (p) => <span data-period-key={p.periodKey}>{labelOfPeriodKey(p.periodKey)}</span>, sortValue: (p) => p.periodStart },
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
