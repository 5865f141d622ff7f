import type { RequestLog } from "../../data/api";
import { Link } from "../../router/router";
import { formatBytes, formatInt, formatMs } from "../../lib/format";
import { formatUsdExact } from "../../lib/money";
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
    [
      "Tokens (prompt / completion / cached / reasoning)",
      r.usage
        ? `${formatInt(r.usage.totalTokens)} (${formatInt(r.usage.promptTokens)} / ${formatInt(r.usage.completionTokens)} / ${formatInt(r.usage.cachedTokens)} / ${formatInt(r.usage.reasoningTokens)})`
        : "—",
    ],
    ["Cost", r.usage ? `${formatUsdExact(r.usage.costNanoUsd)} (${r.usage.costStatus})` : "—"],
    ["Message", r.messageId ?? "—"],
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
        <div>
          <dt>API key</dt>
          <dd>{r.apiKeyId ? <Link to={`/requests?key=${encodeURIComponent(r.apiKeyId)}`}>{r.apiKeyId}</Link> : "—"}</dd>
        </div>
        <div>
          <dt>Conversation</dt>
          <dd>
            {r.conversationId ? (
              <Link to={`/requests?conversation=${encodeURIComponent(r.conversationId)}`}>{r.conversationId}</Link>
            ) : (
              "—"
            )}
          </dd>
        </div>
      </dl>
    </div>
  );
}
