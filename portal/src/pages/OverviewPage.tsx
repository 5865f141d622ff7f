import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { QueryView } from "../components/States";
import { useRange } from "../lib/useRange";
import { OverviewStats } from "./overview/OverviewStats";
import { LiveCharts } from "./overview/LiveCharts";
import { HealthPanel } from "./overview/HealthPanel";

export function OverviewPage() {
  const range = useRange({ key: "24h" });
  const win = range.win;
  const overview = useAdminQuery(admin.overview, win ?? "skip");
  return (
    <section data-page="overview" data-from={win?.from} data-to={win?.to}>
      <PageHeader title="Overview" subtitle="Requests, tokens and cost, live." actions={<RangePicker range={range} />} />
      <QueryView state={overview}>
        {(o) => (
          <>
            <OverviewStats o={o} />
            {win && <LiveCharts win={win} />}
            <HealthPanel health={o.health} />
          </>
        )}
      </QueryView>
    </section>
  );
}
