import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatCompact } from "../lib/format";
import { ChartTable } from "./ChartTable";
import { AXIS_LINE, GRID, tick, TOOLTIP } from "./theme";

export interface SeriesDef {
  key: string;
  label: string;
  /** A colour from theme.ts's SERIES (a CSS variable, per colour scheme). */
  color: string;
}

const AXIS = tick(12);

/**
 * A time series: stacked bars or areas over `x` labels. Values are chart
 * geometry only; exact figures are in the tables beside the charts. A
 * visually hidden table carries the same numbers for screen readers.
 */
export function SeriesChart({
  data,
  x,
  series,
  kind = "area",
  stacked = false,
  height = 240,
  formatValue = formatCompact,
  label,
  xHeader = "Period",
  withTable = true,
}: {
  data: Record<string, string | number>[];
  x: string;
  series: SeriesDef[];
  kind?: "area" | "bar";
  stacked?: boolean;
  height?: number;
  formatValue?: (v: number) => string;
  label: string;
  /** The heading of the x column in the text alternative. */
  xHeader?: string;
  /**
   * Whether to add the hidden table. Off where a visible table beside the
   * chart already has the numbers (hundreds of hidden rows cost layout time).
   */
  withTable?: boolean;
}) {
  const common = (
    <>
      <CartesianGrid strokeDasharray="3 3" stroke={GRID} vertical={false} />
      <XAxis dataKey={x} tick={AXIS} tickLine={false} axisLine={{ stroke: AXIS_LINE }} minTickGap={24} />
      <YAxis tick={AXIS} tickLine={false} axisLine={false} width={64} tickFormatter={(v: number) => formatValue(v)} />
      <Tooltip formatter={(v) => formatValue(Number(v))} {...TOOLTIP} />
      {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
    </>
  );
  return (
    <figure className="chart" aria-label={label}>
      <ResponsiveContainer width="100%" height={height}>
        {kind === "bar" ? (
          <BarChart data={data}>
            {common}
            {series.map((s) => (
              <Bar key={s.key} dataKey={s.key} name={s.label} fill={s.color} stackId={stacked ? "s" : undefined} isAnimationActive={false} />
            ))}
          </BarChart>
        ) : (
          <AreaChart data={data}>
            {common}
            {series.map((s) => (
              <Area
                key={s.key}
                type="monotone"
                dataKey={s.key}
                name={s.label}
                stroke={s.color}
                fill={s.color}
                fillOpacity={0.18}
                stackId={stacked ? "s" : undefined}
                isAnimationActive={false}
              />
            ))}
          </AreaChart>
        )}
      </ResponsiveContainer>
      <figcaption className="sr-only">{label}</figcaption>
      {withTable && <ChartTable caption={label} data={data} x={x} xHeader={xHeader} series={series} format={formatValue} />}
    </figure>
  );
}
