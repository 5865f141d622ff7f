import type { RequestLog } from "../../data/api";
import { formatBytes, formatMs } from "../../lib/format";
import { formatDateTime } from "../../lib/time";

/** All fields of one request log, as text. */
export function RequestDetails({ r }: { r: RequestLog }) {
  const rows: [string, string][] = [
    ["Request id", r.requestId],
    ["Time", formatDateTime(r.timestamp)],
    ["Endpoint", `${r.method} ${r.endpoint}`],
    ["Status", `${r.status} (${r.statusCode})`],
    ["Generation", r.generationId ?? "—"],
    ["Model", r.model ?? "—"],
    ["Latency", formatMs(r.processingTime)],
    ["Time to first token", r.timeToFirstToken !== undefined ? formatMs(r.timeToFirstToken) : "—"],
    ["Request / response size", `${formatBytes(r.requestSize)} / ${formatBytes(r.responseSize)}`],
    ["User agent", r.userAgent ?? "—"],
    ["IP address", r.ipAddress ?? "—"],
  ];
  return (
    <div className="details" data-testid="request-details">
      {r.status === "error" && (
        <div className="error-box">
          <strong>{r.errorType ?? "error"}</strong>
          <pre className="error-message">{r.errorMessage ?? "No message."}</pre>
        </div>
      )}
      <dl>
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
