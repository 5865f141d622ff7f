import { useMemo } from "react";
import { admin } from "../data/api";
import { useAdminPaginated, useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { Empty, ErrorState, Loading } from "../components/States";
import { RangePicker } from "../components/RangePicker";
import { useRange } from "../lib/useRange";
import { windowFor } from "../lib/range";
import { useNow } from "../lib/useNow";
import { useRouter } from "../router/router";
import { filterParams, filtersOf, RequestFilters } from "./requests/RequestFilters";
import { RequestTable } from "./requests/RequestTable";
import { LoadMore } from "./requests/LoadMore";
import { ExportButton } from "./requests/ExportButton";
import type { ExportArgs } from "./requests/useRequestExport";

const PAGE_SIZE = 50;

export function RequestsPage() {
  const { search, setQuery } = useRouter();
  const filters = useMemo(() => filtersOf(new URLSearchParams(search)), [search]);
  // "Any time" by default: the log is newest first and paginated.
  const range = useRange({ key: "all" });
  const win = range.win;
  // The user and model lists come from the chosen window, or the last 30 days for "Any time".
  const now = useNow();
  const last30 = range.tz === undefined ? undefined : windowFor({ key: "30d" }, now, range.tz);
  const listWin = useMemo(() => win ?? last30 ?? undefined, [win, last30?.from, last30?.to]);
  const users = useAdminQuery(admin.topUsers, listWin ? { ...listWin, by: "requests", limit: 100 } : "skip");
  const models = useAdminQuery(admin.modelStats, listWin ?? "skip");
  const args = useMemo(() => {
    const a: ExportArgs = {};
    if (filters.status) a.status = filters.status;
    if (filters.userId) a.userId = filters.userId;
    if (filters.model) a.modelSlug = filters.model;
    if (filters.apiKeyId) a.apiKeyId = filters.apiKeyId;
    if (filters.conversationId) a.conversationId = filters.conversationId;
    if (filters.requestId) a.requestId = filters.requestId;
    if (filters.generationId) a.generationId = filters.generationId;
    if (win) {
      a.from = win.from; // requestLogs: timestamp in [from, to)
      a.to = win.to;
    }
    return a;
  }, [filters, win]);
  const pageArgs = useMemo(() => ({ ...args, withUsage: true }), [args]);
  const logs = useAdminPaginated(admin.requestLogs, win === undefined ? "skip" : pageArgs, PAGE_SIZE);
  const userNames = useMemo(() => new Map((users.data ?? []).map((u) => [u.userId, u.name ?? u.email ?? u.userId])), [users.data]);

  return (
    <section data-page="requests" data-args={JSON.stringify(args)}>
      <PageHeader
        title="Requests"
        subtitle="Every request, newest first."
        actions={
          <>
            <RangePicker range={range} withAll />
            {win !== undefined && <ExportButton args={args} />}
          </>
        }
      />
      <RequestFilters
        value={filters}
        onChange={(f) => setQuery(filterParams(f))}
        users={(users.data ?? []).map((u) => ({ id: u.userId, name: u.name ?? u.email ?? u.userId }))}
        models={(models.data ?? []).map((m) => m.model)}
      />
      <div className="card">
        {logs.error && <ErrorState error={logs.error} />}
        {logs.status === "LoadingFirstPage" ? (
          <Loading />
        ) : logs.results.length === 0 && logs.status === "Exhausted" ? (
          !logs.error && <Empty title="No requests match these filters" />
        ) : (
          <>
            <RequestTable rows={logs.results} userNames={userNames} />
            <LoadMore count={logs.results.length} status={logs.status} capped={logs.capped} loadMore={() => logs.loadMore(PAGE_SIZE)} />
          </>
        )}
      </div>
    </section>
  );
}
