import type { FunctionReturnType } from "convex/server";
import { admin } from "../../data/api";
import { DataTable } from "../../components/DataTable";
import { Money } from "../../components/Money";
import { Empty } from "../../components/States";
import { formatInt } from "../../lib/format";

export type UserModels = FunctionReturnType<typeof admin.userModels>;

/** What the user spent on each model in the range (llmmeter:userModels). */
export function ModelCosts({ data }: { data: UserModels }) {
  return (
    <div className="card">
      <h2>Cost by model</h2>
      {data.truncated && (
        <p className="muted small" data-testid="user-models-truncated">
          Only the newest 4,000 generations of the range are counted here; narrow the range for exact figures.
        </p>
      )}
      {data.models.length === 0 ? (
        <Empty title="No generations in this range" />
      ) : (
        <DataTable
          testId="user-models"
          caption="Cost by model in the range"
          rows={data.models}
          rowKey={(m) => m.model}
          initialSort={{ key: "cost", dir: "desc" }}
          columns={[
            { key: "model", header: "Model", render: (m) => <span className="mono">{m.model}</span>, sortValue: (m) => m.model },
            { key: "generations", header: "Generations", align: "right", render: (m) => formatInt(m.generations), sortValue: (m) => m.generations },
            { key: "tokens", header: "Tokens", align: "right", render: (m) => formatInt(m.totalTokens), sortValue: (m) => m.totalTokens },
            { key: "cached", header: "Cached", align: "right", render: (m) => formatInt(m.cachedTokens), sortValue: (m) => m.cachedTokens },
            { key: "reasoning", header: "Reasoning", align: "right", render: (m) => formatInt(m.reasoningTokens), sortValue: (m) => m.reasoningTokens },
            { key: "cost", header: "Cost", align: "right", render: (m) => <Money nanos={m.costNanoUsd} />, sortValue: (m) => m.costNanoUsd },
          ]}
        />
      )}
    </div>
  );
}
