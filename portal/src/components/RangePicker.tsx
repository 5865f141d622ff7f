import { RANGES, type RangeKey } from "../lib/range";

export function RangePicker({ value, onChange, options }: { value: RangeKey; onChange: (k: RangeKey) => void; options?: RangeKey[] }) {
  const list = options ? RANGES.filter((r) => options.includes(r.key)) : RANGES;
  return (
    <div className="segmented" role="group" aria-label="Time range">
      {list.map((r) => (
        <button
          key={r.key}
          type="button"
          className={r.key === value ? "active" : ""}
          aria-pressed={r.key === value}
          onClick={() => onChange(r.key)}
        >
          {r.label}
        </button>
      ))}
    </div>
  );
}
