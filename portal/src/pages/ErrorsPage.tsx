import type { FunctionReturnType } from "convex/server";
import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { StatCard } from "../components/StatCard";
import { Empty, QueryView } from "../components/States";
import { SeriesChart } from "../charts/SeriesChart";
import { SERIES } from "../charts/theme";
import { formatInt, formatPercent } from "../lib/format";
import { rangeParams, type RangeSpec } from "../lib/range";
import { labelOfPeriodKey } from "../lib/time";
import { useRange } from "../lib/useRange";
import { Link, patchSearch } from "../router/router";

type ErrorSummary = FunctionReturnType<typeof admin.errorSummary>;
type Bucket = { key: string | number | null; count: number };

/**
 * Errors over the range: the error rate per period (llmmeter:errorSummary's
 * series, from the fold) and the window's failed requests by type, HTTP
 * code, model and provider, with the most frequent messages. Each bucket
 * links to the Requests page filtered to errors (and to the model, the one
 * bucket the request log can be filtered by) in the same range.
 */
export function ErrorsPage() {
  const range = useRange({ key: "7d" });
  const win = range.win;
  const summary = useAdminQuery(admin.errorSummary, win ?? "skip");
  return (
    <section data-page="errors" data-args={JSON.stringify(win)}>
      <PageHeader title="Errors" subtitle="Failed requests: how often, of which kind, where." actions={<RangePicker range={range} />} />
      <QueryView state={summary}>{(s) => <ErrorsView s={s} spec={range.spec} />}</QueryView>
    </section>
  );
}

/** The Requests page's URL for error rows in the same range, optionally of one model. */
function requestsLink(spec: RangeSpec, model?: string): string {
  return "/requests" + patchSearch("", { ...rangeParams(spec), status: "error", model });
}

function ErrorsView({ s, spec }: { s: ErrorSummary; spec: RangeSpec }) {
  const chart = s.series.map((p) => ({ label: labelOfPeriodKey(p.periodKey), rate: p.errorRate * 100, failed: p.failed }));
  return (
    <>
      <div className="stats">
        <StatCard testId="errors-rate" label="Error rate" value={s.requests > 0 ? formatPercent(s.errorRate) : "—"} />
        <StatCard testId="errors-failed" label="Failed requests" value={formatInt(s.failed)} hint={`of ${formatInt(s.requests)}`} />
        <StatCard testId="errors-rows" label="Error rows read" value={formatInt(s.rowsRead)} hint={s.complete ? "all in range" : "the newest; narrow the range for all"} />
      </div>
      <div className="card">
        <h2>Error rate per period</h2>
        {chart.length === 0 ? (
          <Empty title="No requests in this range" />
        ) : (
          <SeriesChart label="Error rate per period (%)" data={chart} x="label" series={[{ key: "rate", label: "Error rate (%)", color: SERIES.red }]} formatValue={(v) => `${v.toFixed(1)}%`} />
        )}
      </div>
      {s.rowsRead === 0 ? (
        <div className="card">
          <Empty title="No failed requests in this range" />
        </div>
      ) : (
        <>
          <div className="grid-2">
            <BucketTable title="By error type" testId="errors-by-type" rows={s.byType} link={() => requestsLink(spec)} />
            <BucketTable title="By HTTP status" testId="errors-by-code" rows={s.byCode} link={() => requestsLink(spec)} />
            <BucketTable title="By model" testId="errors-by-model" rows={s.byModel} link={(k) => requestsLink(spec, k === null ? undefined : String(k))} />
            <BucketTable title="By provider" testId="errors-by-provider" rows={s.byProvider} link={() => requestsLink(spec)} />
          </div>
          <div className="card">
            <h2>Top error messages</h2>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Top error messages, scrollable">
              <table className="data-table" data-testid="errors-messages">
                <thead>
                  <tr>
                    <th scope="col">Message</th>
                    <th scope="col">Type</th>
                    <th scope="col" className="num">
                      Count
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {s.topMessages.map((m) => (
                    <tr key={`${m.errorType}\u0000${m.message}`}>
                      <td>{m.message}</td>
                      <td className="mono">{m.errorType ?? "—"}</td>
                      <td className="num">{formatInt(m.count)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        </>
      )}
    </>
  );
}

/** One breakdown: key, count, share of the rows read, and a link to the matching requests. */
function BucketTable({ title, testId, rows, link }: { title: string; testId: string; rows: Bucket[]; link: (key: Bucket["key"]) => string }) {
  const total = rows.reduce((a, r) => a + r.count, 0);
  return (
    <div className="card">
      <h2>{title}</h2>
      <div className="table-wrap">
        <table className="data-table" data-testid={testId}>
          <thead>
            <tr>
              <th scope="col">{title.replace(/^By /, "").replace(/^\w/, (c) => c.toUpperCase())}</th>
              <th scope="col" className="num">
                Count
              </th>
              <th scope="col" className="num">
                Share
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={String(r.key)} data-key={r.key === null ? "" : String(r.key)} data-count={r.count}>
                <td className="mono">
                  <Link to={link(r.key)} aria-label={`Requests: ${r.key ?? "unknown"} (${title.toLowerCase()})`}>
                    {r.key ?? "unknown"}
                  </Link>
                </td>
                <td className="num">{formatInt(r.count)}</td>
                <td className="num">{formatPercent(r.count / total, 1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
