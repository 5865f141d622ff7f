import { useState } from "react";
import { admin, type ReportSummary } from "../data/api";
import { useAdminQuery, useRunAdminQuery } from "../data/hooks";
import { toAdminError } from "../data/errors";
import { PageHeader } from "../components/PageHeader";
import { DataTable } from "../components/DataTable";
import { Empty, ErrorState, QueryView } from "../components/States";
import { downloadText } from "../lib/download";
import { formatBytes } from "../lib/format";
import { formatDateTime } from "../lib/time";
import { Deliveries } from "./reports/Deliveries";

export function ReportsPage() {
  const reports = useAdminQuery(admin.reports, { limit: 50 });
  return (
    <section data-page="reports">
      <PageHeader title="Reports" subtitle="Daily and weekly reports written by the report job and sent to the alert webhooks." />
      <div className="card">
        <QueryView state={reports} isEmpty={(d) => d.length === 0} empty={<Empty title="No reports yet">The report job writes one after each day and week.</Empty>}>
          {(rows) => (
            <DataTable
              testId="reports-table"
              rows={rows}
              rowKey={(r) => r.id}
              initialSort={{ key: "created", dir: "desc" }}
              columns={[
                { key: "period", header: "Period", render: (r) => r.periodKey, sortValue: (r) => r.periodKey },
                { key: "kind", header: "Kind", render: (r) => r.kind, sortValue: (r) => r.kind },
                { key: "created", header: "Created", render: (r) => formatDateTime(r.createdAt), sortValue: (r) => r.createdAt },
                { key: "size", header: "CSV size", align: "right", render: (r) => formatBytes(r.csvBytes), sortValue: (r) => r.csvBytes },
                { key: "delivery", header: "Delivered to", render: (r) => <Deliveries r={r} /> },
                { key: "download", header: "Download", render: (r) => <Downloads r={r} /> },
              ]}
            />
          )}
        </QueryView>
      </div>
    </section>
  );
}

function Downloads({ r }: { r: ReportSummary }) {
  const run = useRunAdminQuery();
  const [error, setError] = useState<Error | null>(null);
  const get = async (format: "csv" | "json") => {
    setError(null);
    try {
      const full = await run(admin.report, { reportId: r.id });
      const name = `llmmeter-${full.kind}-${full.periodKey}`;
      if (format === "csv") downloadText(`${name}.csv`, full.csv, "text/csv;charset=utf-8");
      else downloadText(`${name}.json`, JSON.stringify(full.body, null, 2), "application/json");
    } catch (e) {
      setError(toAdminError(e));
    }
  };
  return (
    <span className="downloads">
      <button type="button" className="btn small" onClick={() => get("csv")}>
        <span className="sr-only">Download </span>
        CSV
        <span className="sr-only"> for the {r.kind} report {r.periodKey}</span>
      </button>
      <button type="button" className="btn small" onClick={() => get("json")}>
        <span className="sr-only">Download </span>
        JSON
        <span className="sr-only"> for the {r.kind} report {r.periodKey}</span>
      </button>
      {error && <ErrorState error={error} title="Download failed" />}
    </span>
  );
}
