import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

/** Horizontal bars, one per category (models side by side). */
export function CategoryBars({
  data,
  category,
  value,
  color,
  format,
  label,
}: {
  data: Record<string, string | number>[];
  category: string;
  value: string;
  color: string;
  format: (v: number) => string;
  label: string;
}) {
  const height = 40 + data.length * 30;
  return (
    <figure className="chart" aria-label={label}>
      <figcaption className="chart-title">{label}</figcaption>
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={data} layout="vertical" margin={{ left: 8, right: 16 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" horizontal={false} />
          <XAxis type="number" tick={{ fontSize: 11, fill: "#6b7280" }} tickFormatter={(v: number) => format(v)} />
          <YAxis type="category" dataKey={category} width={190} tick={{ fontSize: 11, fill: "#374151" }} />
          <Tooltip formatter={(v) => format(Number(v))} />
          <Bar dataKey={value} fill={color} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
