/**
 * Chart colours as CSS variables (styles.css defines them for the light and
 * the dark scheme), so a chart follows prefers-color-scheme without
 * re-rendering. Series colours are also legend and tooltip text, so each
 * keeps 4.5:1 against the panel in both schemes.
 */
export const SERIES = {
  blue: "var(--chart-blue)",
  red: "var(--chart-red)",
  teal: "var(--chart-teal)",
  purple: "var(--chart-purple)",
  amber: "var(--chart-amber)",
} as const;

export const GRID = "var(--line)";
export const AXIS_LINE = "var(--field-line)";

/** Tick text: the page's muted ink, 4.5:1 on the panel. */
export function tick(fontSize: number, fill = "var(--muted)") {
  return { fontSize, fill };
}

/** The tooltip box in the panel's colours (recharts' default is white). */
export const TOOLTIP = {
  contentStyle: { background: "var(--panel)", border: "1px solid var(--line)", borderRadius: 8, color: "var(--ink)" },
  labelStyle: { color: "var(--ink)" },
  cursor: { fill: "var(--hover)", stroke: "var(--line)" },
};
