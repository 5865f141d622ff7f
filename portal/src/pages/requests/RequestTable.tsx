import { Fragment, useState } from "react";
import type { RequestLog } from "../../data/api";
import { Badge } from "../../components/Badge";
import { formatBytes, formatInt, formatMs } from "../../lib/format";
import { formatUsd } from "../../lib/money";
import { formatDateTime } from "../../lib/time";
import { useSorted } from "../../lib/sort";
import { RequestDetails } from "./RequestDetails";

type Key = "time" | "status" | "model" | "latency" | "tokens" | "cost";

/**
 * The loaded page of request logs. Each row's time is a button (keyboard and
 * screen readers reach it; aria-expanded says whether the details are open)
 * that opens the details in the row below. Untrusted fields render as text.
 */
export function RequestTable({ rows, userNames }: { rows: RequestLog[]; userNames: Map<string, string> }) {
  const [open, setOpen] = useState<string | null>(null);
  const { sorted, sort, toggle } = useSorted<RequestLog, Key>(rows, { key: "time", dir: "desc" }, (r, k) =>
    k === "time"
      ? r.timestamp
      : k === "status"
        ? r.statusCode
        : k === "model"
          ? (r.model ?? "")
          : k === "tokens"
            ? (r.usage?.totalTokens ?? -1)
            : k === "cost"
              ? (r.usage?.costNanoUsd ?? -1)
              : r.processingTime,
  );
  const th = (k: Key, label: string, num = false) => (
    <th className={num ? "num" : ""} aria-sort={sort.key === k ? (sort.dir === "asc" ? "ascending" : "descending") : "none"}>
      <button type="button" className="sort" onClick={() => toggle(k)}>
        {label}
        <span className="sort-mark" aria-hidden="true">
          {sort.key === k ? (sort.dir === "asc" ? "▲" : "▼") : ""}
        </span>
      </button>
    </th>
  );
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid="requests-table">
        <thead>
          <tr>
            {th("time", "Time")}
            {th("status", "Status")}
            <th>User</th>
            {th("model", "Model")}
            {th("latency", "Latency", true)}
            {th("tokens", "Tokens", true)}
            {th("cost", "Cost", true)}
            <th className="num">Size</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {(sorted ?? []).map((r) => (
            <Fragment key={r._id}>
              <tr className={open === r._id ? "open" : ""} data-request-id={r.requestId}>
                <td className="nowrap">
                  <button
                    type="button"
                    className="row-toggle"
                    aria-expanded={open === r._id}
                    aria-controls={open === r._id ? detailsId(r._id) : undefined}
                    onClick={() => setOpen(open === r._id ? null : r._id)}
                  >
                    <span className="chev" aria-hidden="true">
                      ▶
                    </span>
                    {formatDateTime(r.timestamp)}
                    <span className="sr-only">, details</span>
                  </button>
                </td>
                <td>
                  <Badge tone={r.status === "success" ? "ok" : "bad"}>{r.statusCode}</Badge>
                </td>
                <td className="wrap-long">{r.userId ? (userNames.get(r.userId) ?? r.userId) : "—"}</td>
                <td className="mono wrap-long">{r.model ?? "—"}</td>
                <td className="num">{formatMs(r.processingTime)}</td>
                <td className="num" data-col="tokens">{r.usage ? formatInt(r.usage.totalTokens) : "—"}</td>
                <td className="num" data-col="cost">
                  {r.usage ? formatUsd(r.usage.costNanoUsd) : "—"}
                  {r.usage?.costStatus === "estimated" && <span className="muted small"> est.</span>}
                </td>
                <td className="num">{formatBytes(r.responseSize)}</td>
                <td className="truncate">{r.errorType ?? ""}</td>
              </tr>
              {open === r._id && (
                <tr className="details-row">
                  <td colSpan={9} id={detailsId(r._id)}>
                    <RequestDetails r={r} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The id of a request's details cell, for the toggle's aria-controls. */
function detailsId(id: string) {
  return `request-details-${id}`;
}
