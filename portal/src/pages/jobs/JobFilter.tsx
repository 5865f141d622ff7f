import { useEffect, useState } from "react";

/**
 * The job filter: a text field suggesting the jobs seen lately (a datalist),
 * so a job that has not run among the latest runs can still be typed. The
 * filter applies on submit or when a suggestion is picked, not per keystroke.
 */
export function JobFilter({ value, names, onChange }: { value?: string; names: string[]; onChange: (job: string | undefined) => void }) {
  const [text, setText] = useState(value ?? "");
  useEffect(() => setText(value ?? ""), [value]);
  const apply = (v: string) => onChange(v.trim() || undefined);
  return (
    <form
      className="toolbar"
      aria-label="Filter job runs"
      onSubmit={(e) => {
        e.preventDefault();
        apply(text);
      }}
    >
      <label>
        Job
        <input
          type="search"
          name="job"
          list="job-names"
          value={text}
          placeholder="all jobs"
          onChange={(e) => {
            setText(e.target.value);
            // Picking a suggestion (or clearing the field) applies at once.
            if (e.target.value === "" || names.includes(e.target.value)) apply(e.target.value);
          }}
        />
      </label>
      <datalist id="job-names">
        {names.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      <button type="submit" className="btn small">
        Filter
      </button>
      {value && (
        <button type="button" className="btn link" onClick={() => apply("")}>
          All jobs
        </button>
      )}
    </form>
  );
}
