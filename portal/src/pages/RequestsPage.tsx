import { useMemo, useState } from "react";
import { admin } from "../data/api";
import { useAdminPaginated, useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { Empty, ErrorState, Loading } from "../components/States";
import { useWindow } from "../lib/useWindow";
import { RequestFilters, type Filters } from "./requests/RequestFilters";
import { RequestTable } from "./requests/RequestTable";

const PAGE_SIZE = 50;

export function RequestsPage() {
  const [filters, setFilters] = useState<Filters>({});
  const month = useWindow("30d");
  const users = useAdminQuery(admin.topUsers, { ...month, by: "requests", limit: 100 });
  const models = useAdminQuery(admin.modelStats, month);
  const args = useMemo(() => {
    const a: { status?: "success" | "error"; userId?: string; modelSlug?: string; from?: number; to?: number } = {};
    if (filters.status) a.status = filters.status;
    if (filters.userId) a.userId = filters.userId;
    if (filters.model) a.modelSlug = filters.model;
    if (filters.from !== undefined) a.from = filters.from;
    if (filters.to !== undefined) a.to = filters.to;
    return a;
  }, [filters]);
  const logs = useAdminPaginated(admin.requestLogs, args, PAGE_SIZE);
  const userNames = useMemo(() => new Map((users.data ?? []).map((u) => [u.userId, u.name ?? u.email ?? u.userId])), [users.data]);

  return (
    <section data-page="requests" data-args={JSON.stringify(args)}>
      <PageHeader title="Requests" subtitle="Every request, newest first." />
      <RequestFilters
        value={filters}
        onChange={setFilters}
        users={(users.data ?? []).map((u) => ({ id: u.userId, name: u.name ?? u.email ?? u.userId }))}
        models={(models.data ?? []).map((m) => m.model)}
      />
      <div className="card">
        {logs.error && <ErrorState error={logs.error} />}
        {logs.status === "LoadingFirstPage" ? (
          <Loading />
        ) : logs.results.length === 0 ? (
          !logs.error && <Empty title="No requests match these filters" />
        ) : (
          <>
            <RequestTable rows={logs.results} userNames={userNames} />
            <div className="table-foot">
              <span className="muted small" data-testid="row-count">
                {logs.results.length} requests shown
              </span>
              {logs.status === "CanLoadMore" && (
                <button type="button" className="btn" onClick={() => logs.loadMore(PAGE_SIZE)}>
                  Load more
                </button>
              )}
              {logs.status === "LoadingMore" && <span className="muted small">Loading…</span>}
              {logs.status === "Exhausted" && <span className="muted small">End of the log</span>}
            </div>
          </>
        )}
      </div>
    </section>
  );
}
