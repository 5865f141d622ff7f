import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ChartTable } from "./ChartTable";
import { GRID, tick, TOOLTIP } from "./theme";

/**
 * Horizontal bars, one per category (models side by side), with the numbers
 * in a visually hidden table for screen readers.
 */
export function CategoryBars({
  data,
  category,
  value,
  color,
  format,
  label,
  categoryHeader = "Model",
}: {
  data: Record<string, string | number>[];
  category: string;
  value: string;
  color: string;
  format: (v: number) => string;
  label: string;
  /** The heading of the category column in the text alternative. */
  categoryHeader?: string;
}) {
  const height = 40 + data.length * 30;
  return (
    <figure className="chart" aria-label={label}>
      <figcaption className="chart-title">{label}</figcaption>
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={data} layout="vertical" margin={{ left: 8, right: 16 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={GRID} horizontal={false} />
          <XAxis type="number" tick={tick(11)} tickFormatter={(v: number) => format(v)} />
          <YAxis type="category" dataKey={category} width={190} tick={tick(11, "var(--ink)")} />
          <Tooltip formatter={(v) => format(Number(v))} {...TOOLTIP} />
          <Bar dataKey={value} fill={color} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <ChartTable caption={label} data={data} x={category} xHeader={categoryHeader} series={[{ key: value, label }]} format={format} />
    </figure>
  );
}
