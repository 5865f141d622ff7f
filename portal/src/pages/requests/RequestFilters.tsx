export interface Filters {
  status?: "success" | "error";
  userId?: string;
  model?: string;
}

/** The filters in the query string (?status=error&user=…&model=…). */
export function filtersOf(params: URLSearchParams): Filters {
  const s = params.get("status");
  return {
    status: s === "success" || s === "error" ? s : undefined,
    userId: params.get("user") ?? undefined,
    model: params.get("model") ?? undefined,
  };
}

/** The query parameters of filters (undefined removes one). */
export function filterParams(f: Filters): Record<string, string | undefined> {
  return { status: f.status, user: f.userId, model: f.model };
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
      <button type="button" className="btn link" onClick={() => onChange({})}>
        Clear filters
      </button>
    </form>
  );
}
