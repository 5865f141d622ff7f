import { parseLocalInput, toLocalInput } from "../../lib/time";

export interface Filters {
  status?: "success" | "error";
  userId?: string;
  model?: string;
  from?: number;
  to?: number;
}

export function RequestFilters({
  value,
  onChange,
  users,
  models,
}: {
  value: Filters;
  onChange: (f: Filters) => void;
  users: { id: string; name: string }[];
  models: string[];
}) {
  const set = (patch: Partial<Filters>) => onChange({ ...value, ...patch });
  return (
    <form className="toolbar" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        Status
        <select aria-label="Status" value={value.status ?? ""} onChange={(e) => set({ status: (e.target.value || undefined) as Filters["status"] })}>
          <option value="">any</option>
          <option value="success">success</option>
          <option value="error">error</option>
        </select>
      </label>
      <label>
        User
        <select aria-label="User" value={value.userId ?? ""} onChange={(e) => set({ userId: e.target.value || undefined })}>
          <option value="">any</option>
          {users.map((u) => (
            <option key={u.id} value={u.id}>
              {u.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Model
        <select aria-label="Model" value={value.model ?? ""} onChange={(e) => set({ model: e.target.value || undefined })}>
          <option value="">any</option>
          {models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      <label>
        From
        <input aria-label="From" type="datetime-local" value={value.from !== undefined ? toLocalInput(value.from) : ""} onChange={(e) => set({ from: parseLocalInput(e.target.value) })} />
      </label>
      <label>
        To
        <input aria-label="To" type="datetime-local" value={value.to !== undefined ? toLocalInput(value.to) : ""} onChange={(e) => set({ to: parseLocalInput(e.target.value) })} />
      </label>
      <button type="button" className="btn link" onClick={() => onChange({})}>
        Clear filters
      </button>
    </form>
  );
}
