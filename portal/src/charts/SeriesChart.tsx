import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatCompact } from "../lib/format";

export interface SeriesDef {
  key: string;
  label: string;
  color: string;
}

const AXIS = { fontSize: 12, fill: "#6b7280" };

/**
 * A time series: stacked bars or areas over `x` labels. Values are chart
 * geometry only; exact figures are in the tables beside the charts.
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
}: {
  data: Record<string, string | number>[];
  x: string;
  series: SeriesDef[];
  kind?: "area" | "bar";
  stacked?: boolean;
  height?: number;
  formatValue?: (v: number) => string;
  label: string;
}) {
  const common = (
    <>
      <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" vertical={false} />
      <XAxis dataKey={x} tick={AXIS} tickLine={false} axisLine={{ stroke: "#d1d5db" }} minTickGap={24} />
      <YAxis tick={AXIS} tickLine={false} axisLine={false} width={64} tickFormatter={(v: number) => formatValue(v)} />
      <Tooltip formatter={(v) => formatValue(Number(v))} />
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
    </figure>
  );
}
