import { admin, type ModelStat } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { Empty, QueryView } from "../components/States";
import { DataTable } from "../components/DataTable";
import { Money } from "../components/Money";
import { CategoryBars } from "../charts/CategoryBars";
import { SERIES } from "../charts/theme";
import { formatCompact, formatInt, formatMs, formatPercent } from "../lib/format";
import { nanosToChartUsd } from "../lib/money";
import { useRange } from "../lib/useRange";

export function ModelsPage() {
  const range = useRange({ key: "30d" });
  const win = range.win;
  const stats = useAdminQuery(admin.modelStats, win ?? "skip");
  return (
    <section data-page="models" data-args={JSON.stringify(win)}>
      <PageHeader title="Models" subtitle="Cost, tokens, latency and errors side by side." actions={<RangePicker range={range} />} />
      <QueryView state={stats} isEmpty={(d) => d.length === 0} empty={<Empty title="No model was used in this range" />}>
        {(rows) => <ModelsView rows={rows} />}
      </QueryView>
    </section>
  );
}

function ModelsView({ rows }: { rows: ModelStat[] }) {
  const chart = rows.map((m) => ({
    model: m.model,
    cost: nanosToChartUsd(m.costNanoUsd),
    tokens: m.totalTokens,
    latency: m.avgProcessingMs,
    errors: m.errorRate * 100,
  }));
  return (
    <>
      <div className="card">
        <DataTable
          testId="models-table"
          rows={rows}
          rowKey={(m) => m.model}
          initialSort={{ key: "cost", dir: "desc" }}
          columns={[
            { key: "model", header: "Model", render: (m) => <span className="mono">{m.model}</span>, sortValue: (m) => m.model },
            { key: "requests", header: "Requests", align: "right", render: (m) => formatInt(m.requests), sortValue: (m) => m.requests },
            { key: "tokens", header: "Tokens", align: "right", render: (m) => formatInt(m.totalTokens), sortValue: (m) => m.totalTokens },
            { key: "cost", header: "Cost", align: "right", render: (m) => <Money nanos={m.costNanoUsd} />, sortValue: (m) => m.costNanoUsd },
            { key: "avg", header: "Avg latency", align: "right", render: (m) => formatMs(m.avgProcessingMs), sortValue: (m) => m.avgProcessingMs },
            {
              key: "latency",
              header: "Latency p50 / p95 / p99",
              align: "right",
              render: (m) => percentiles(m.p50LatencyMs, m.p95LatencyMs, m.p99LatencyMs),
              sortValue: (m) => m.p95LatencyMs ?? Number.MAX_SAFE_INTEGER,
            },
            {
              key: "ttft",
              header: "TTFT p50 / p95 / p99",
              align: "right",
              render: (m) => percentiles(m.p50TtftMs, m.p95TtftMs, m.p99TtftMs),
              sortValue: (m) => m.p95TtftMs ?? Number.MAX_SAFE_INTEGER,
            },
            { key: "errors", header: "Error rate", align: "right", render: (m) => formatPercent(m.errorRate), sortValue: (m) => m.errorRate },
          ]}
        />
      </div>
      <div className="grid-2">
        <div className="card">
          <CategoryBars label="Cost (USD)" data={chart} category="model" value="cost" color={SERIES.teal} format={(v) => `$${v.toFixed(2)}`} />
        </div>
        <div className="card">
          <CategoryBars label="Tokens" data={chart} category="model" value="tokens" color={SERIES.purple} format={formatCompact} />
        </div>
        <div className="card">
          <CategoryBars label="Average latency (ms)" data={chart} category="model" value="latency" color={SERIES.blue} format={(v) => formatInt(v)} />
        </div>
        <div className="card">
          <CategoryBars label="Error rate (%)" data={chart} category="model" value="errors" color={SERIES.red} format={(v) => `${v.toFixed(1)}%`} />
        </div>
      </div>
    </>
  );
}

/**
 * Upper bounds of the fine buckets (~25 % wide) holding each percentile; a
 * null (no samples: no streamed request, or only rows folded before the fine
 * buckets existed; or beyond ~12 min) shows as "—".
 */
export function percentiles(...ms: (number | null)[]): string {
  return ms.map((v) => (v === null ? "—" : formatMs(v))).join(" / ");
}
