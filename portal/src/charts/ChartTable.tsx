/**
 * A chart's numbers as a visually hidden table: the text alternative that
 * screen readers read instead of the SVG, with the values as the chart's
 * own formatter shows them.
 */
export function ChartTable({
  caption,
  data,
  x,
  xHeader,
  series,
  format,
}: {
  caption: string;
  data: Record<string, string | number>[];
  x: string;
  xHeader: string;
  series: { key: string; label: string }[];
  format: (v: number) => string;
}) {
  return (
    // The wrapper hides it: a table itself cannot be shrunk to 1 px, and would widen a phone's page.
    <div className="sr-only">
      <table data-testid="chart-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{xHeader}</th>
            {series.map((s) => (
              <th key={s.key} scope="col">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.map((d, i) => (
            <tr key={i}>
              <th scope="row">{d[x]}</th>
              {series.map((s) => (
                <td key={s.key}>{format(Number(d[s.key]))}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
