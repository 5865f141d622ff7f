import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ChartTable } from "./ChartTable";
import { GRID, tick, TOOLTIP } from "./theme";
import { wrapLabel } from "./wrapLabel";

const LINE = 13; // px per line of a category name

/** A category's whole name on the axis, wrapped (see wrapLabel), never cut off. */
function WrappedTick({ x, y, payload }: { x?: number; y?: number; payload?: { value: string } }) {
  const lines = wrapLabel(String(payload?.value ?? ""));
  return (
    <text x={x} y={y} textAnchor="end" fontSize={11} fill="var(--ink)" data-category={payload?.value}>
      {lines.map((l, i) => (
        <tspan key={i} x={x} dx={-4} dy={i === 0 ? -((lines.length - 1) * LINE) / 2 + 4 : LINE}>
          {l}
        </tspan>
      ))}
    </text>
  );
}

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
  const lines = Math.max(1, ...data.map((d) => wrapLabel(String(d[category])).length));
  const height = 40 + data.length * Math.max(30, lines * LINE + 12);
  return (
    <figure className="chart" aria-label={label}>
      <figcaption className="chart-title">{label}</figcaption>
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={data} layout="vertical" margin={{ left: 8, right: 16 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={GRID} horizontal={false} />
          <XAxis type="number" tick={tick(11)} tickFormatter={(v: number) => format(v)} />
          <YAxis type="category" dataKey={category} width={170} interval={0} tick={<WrappedTick />} />
          <Tooltip formatter={(v) => format(Number(v))} {...TOOLTIP} />
          <Bar dataKey={value} fill={color} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <ChartTable caption={label} data={data} x={category} xHeader={categoryHeader} series={[{ key: value, label }]} format={format} />
    </figure>
  );
}
