import { useState } from "react";
import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { QueryView } from "../components/States";
import { useWindow } from "../lib/useWindow";
import type { RangeKey } from "../lib/range";
import { OverviewStats } from "./overview/OverviewStats";
import { LiveCharts } from "./overview/LiveCharts";
import { HealthPanel } from "./overview/HealthPanel";

export function OverviewPage() {
  const [range, setRange] = useState<RangeKey>("24h");
  const win = useWindow(range);
  const overview = useAdminQuery(admin.overview, win);
  return (
    <section data-page="overview" data-from={win.from} data-to={win.to}>
      <PageHeader title="Overview" subtitle="Requests, tokens and cost, live." actions={<RangePicker value={range} onChange={setRange} options={["24h", "7d", "30d"]} />} />
      <QueryView state={overview}>
        {(o) => (
          <>
            <OverviewStats o={o} />
            <LiveCharts />
            <HealthPanel health={o.health} />
          </>
        )}
      </QueryView>
    </section>
  );
}
