import { useEffect, useState } from "react";

export interface Filters {
  status?: "success" | "error";
  userId?: string;
  model?: string;
  apiKeyId?: string;
  conversationId?: string;
  requestId?: string;
  generationId?: string;
}

/** What the search box looks up (each an exact match). */
export type SearchKind = "requestId" | "generationId" | "conversationId";
const SEARCH_KINDS: { kind: SearchKind; label: string; param: string }[] = [
  { kind: "requestId", label: "Request id", param: "request" },
  { kind: "generationId", label: "Generation id", param: "generation" },
  { kind: "conversationId", label: "Conversation id", param: "conversation" },
];

/** The filters in the query string (?status=error&user=…&model=…&key=…&conversation=…&request=…&generation=…). */
export function filtersOf(params: URLSearchParams): Filters {
  const s = params.get("status");
  const text = (k: string) => params.get(k) || undefined;
  return {
    status: s === "success" || s === "error" ? s : undefined,
    userId: text("user"),
    model: text("model"),
    apiKeyId: text("key"),
    conversationId: text("conversation"),
    requestId: text("request"),
    generationId: text("generation"),
  };
}

/** The query parameters of filters (undefined removes one). */
export function filterParams(f: Filters): Record<string, string | undefined> {
  return {
    status: f.status,
    user: f.userId,
    model: f.model,
    key: f.apiKeyId,
    conversation: f.conversationId,
    request: f.requestId,
    generation: f.generationId,
  };
}

/**
 * A filter select's options, with the URL's value added when the list lacks
 * it (a link from another page, a user outside the listed 100, a list still
 * loading): a <select> whose value has no option shows its first, "any",
 * while the requests are in fact filtered by that value.
 */
function withCurrent(options: { value: string; label: string }[], current: string | undefined) {
  return current === undefined || options.some((o) => o.value === current) ? options : [{ value: current, label: current }, ...options];
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
  const active = SEARCH_KINDS.find((k) => value[k.kind] !== undefined);
  const [kind, setKind] = useState<SearchKind>(active?.kind ?? "requestId");
  const [term, setTerm] = useState(active ? (value[active.kind] ?? "") : "");
  const [key, setKey] = useState(value.apiKeyId ?? "");
  // The URL wins (a link, back/forward, "Clear filters").
  useEffect(() => {
    setTerm(active ? (value[active.kind] ?? "") : "");
    if (active) setKind(active.kind);
  }, [active?.kind, active ? value[active.kind] : undefined]);
  useEffect(() => setKey(value.apiKeyId ?? ""), [value.apiKeyId]);
  const search = () => {
    const t = term.trim();
    onChange({ ...value, requestId: undefined, generationId: undefined, conversationId: undefined, ...(t ? { [kind]: t } : {}) });
  };
  return (
    <>
      <form
        className="toolbar"
        role="search"
        aria-label="Search requests"
        onSubmit={(e) => {
          e.preventDefault();
          search();
        }}
      >
        <label>
          Search by
          <select aria-label="Search by" value={kind} onChange={(e) => setKind(e.target.value as SearchKind)}>
            {SEARCH_KINDS.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          aria-label="Id to search for"
          placeholder="exact id"
          value={term}
          onChange={(e) => setTerm(e.target.value)}
          spellCheck={false}
          autoComplete="off"
        />
        <button type="submit" className="btn">
          Search
        </button>
      </form>
      <form
        className="toolbar"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          set({ apiKeyId: key.trim() || undefined });
        }}
      >
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
            {withCurrent(users.map((u) => ({ value: u.id, label: u.name })), value.userId).map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <select aria-label="Model" value={value.model ?? ""} onChange={(e) => set({ model: e.target.value || undefined })}>
            <option value="">any</option>
            {withCurrent(models.map((m) => ({ value: m, label: m })), value.model).map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          API key
          <input
            aria-label="API key id"
            placeholder="key id, then Enter"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            onBlur={() => key.trim() !== (value.apiKeyId ?? "") && set({ apiKeyId: key.trim() || undefined })}
            spellCheck={false}
            autoComplete="off"
          />
        </label>
        <button type="button" className="btn link" onClick={() => onChange({})}>
          Clear filters
        </button>
      </form>
    </>
  );
}
