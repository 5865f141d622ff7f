import { admin } from "../src/data/api";
import { useAdminPaginated } from "../src/data/hooks";

/** A paginated view of request logs: "<status> <ids>" and a "more" button. */
export function Logs({ args }: { args: { status?: "success" | "error" } }) {
  const p = useAdminPaginated(admin.requestLogs, args, 2);
  return (
    <>
      <p data-testid="rows">
        {p.status}
        {p.capped ? " capped" : ""} {p.results.map((r) => r._id).join(",")}
      </p>
      <button onClick={() => p.loadMore(2)}>more</button>
    </>
  );
}
