import { admin, type JobRun } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { DataTable } from "../components/DataTable";
import { Badge, type Tone } from "../components/Badge";
import { Empty, QueryView } from "../components/States";
import { formatMs } from "../lib/format";
import { formatDateTime } from "../lib/time";
import { useQueryParam } from "../lib/useRange";
import { JobFilter } from "./jobs/JobFilter";

/** Runs shown per view: llmmeter:jobRuns' maximum. */
const LIMIT = 200;

const TONE: Record<JobRun["outcome"], Tone> = { success: "ok", failure: "bad", skipped: "neutral" };

/**
 * Every recorded run of the scheduled jobs (llmmeter:jobRuns), newest first,
 * optionally of one job (?job=… in the URL, so a filtered view can be shared).
 */
export function JobRunsPage() {
  const [job, setJob] = useQueryParam("job");
  const args = job ? { job, limit: LIMIT } : { limit: LIMIT };
  const runs = useAdminQuery(admin.jobRuns, args);
  // The filter's suggestions: the jobs among the latest runs of all jobs.
  const all = useAdminQuery(admin.jobRuns, { limit: LIMIT });
  const names = [...new Set((all.data ?? []).map((r) => r.job))].sort();
  return (
    <section data-page="jobs" data-args={JSON.stringify(args)}>
      <PageHeader title="Job runs" subtitle="Each run of the scheduled jobs: outcome, duration, window and error." />
      <JobFilter value={job} names={names} onChange={setJob} />
      <div className="card">
        <QueryView
          state={runs}
          isEmpty={(d) => d.length === 0}
          empty={<Empty title={job ? `No runs of “${job}” recorded` : "No job runs recorded yet"}>Runs appear when the scheduler runs a job.</Empty>}
        >
          {(rows) => <RunsTable rows={rows} />}
        </QueryView>
      </div>
    </section>
  );
}

function RunsTable({ rows }: { rows: JobRun[] }) {
  return (
    <DataTable
      testId="job-runs-table"
      caption="Job runs, newest first"
      rows={rows}
      rowKey={(r) => r.id}
      initialSort={{ key: "started", dir: "desc" }}
      columns={[
        { key: "job", header: "Job", render: (r) => <span className="mono">{r.job}</span>, sortValue: (r) => r.job },
        { key: "outcome", header: "Status", render: (r) => <Badge tone={TONE[r.outcome]}>{r.outcome}</Badge>, sortValue: (r) => r.outcome },
        { key: "started", header: "Started", render: (r) => formatDateTime(r.startedAt), sortValue: (r) => r.startedAt },
        { key: "duration", header: "Duration", align: "right", render: (r) => formatMs(r.endedAt - r.startedAt), sortValue: (r) => r.endedAt - r.startedAt },
        { key: "window", header: "Window", render: (r) => windowText(r) },
        { key: "counts", header: "Counts", render: (r) => countsText(r.counts) },
        { key: "error", header: "Error", render: (r) => (r.error ? <span className="cell-wrap">{r.error}</span> : "—") },
      ]}
    />
  );
}

function windowText(r: JobRun): string {
  if (r.windowTo === null) return "—";
  return r.windowFrom === null ? `to ${formatDateTime(r.windowTo)}` : `${formatDateTime(r.windowFrom)} – ${formatDateTime(r.windowTo)}`;
}

/** {"rows": 3, "users": 1} → "rows 3 · users 1". */
function countsText(counts: Record<string, unknown>): string {
  const parts = Object.entries(counts).map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  return parts.length ? parts.join(" · ") : "—";
}
