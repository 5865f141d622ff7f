import { useId, useState } from "react";
import { admin } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";
import { Empty, QueryView } from "../../components/States";
import { Link, useRouter } from "../../router/router";
import { useDebounced } from "../../lib/useDebounced";

/** What llmmeter:searchUsers takes at most (its "query: at most 200 characters"). */
const MAX_QUERY = 200;
/** Pause in typing before the search is asked. */
export const SEARCH_DEBOUNCE_MS = 250;

/**
 * Finds any user, not only the top 50 of the range: a prefix of the name,
 * the email or the id (external or Clerk), case aside
 * (llmmeter:searchUsers). Enter opens the first match.
 */
export function UserSearch() {
  const id = useId();
  const [text, setText] = useState("");
  const query = useDebounced(text.trim(), SEARCH_DEBOUNCE_MS);
  const res = useAdminQuery(admin.searchUsers, query === "" ? "skip" : { query, limit: 20 });
  const { navigate } = useRouter();
  // Results of an older query are not shown as this one's while it loads.
  const current = query === text.trim();
  const first = current ? res.data?.[0] : undefined;
  return (
    <div className="card user-search">
      <form
        role="search"
        aria-label="Find a user"
        onSubmit={(e) => {
          e.preventDefault();
          if (first) navigate(`/users/${encodeURIComponent(first.id)}`);
        }}
      >
        <label htmlFor={id}>Find a user</label>
        <input
          id={id}
          type="search"
          data-testid="user-search"
          placeholder="name, email or id"
          value={text}
          maxLength={MAX_QUERY}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === "Escape" && setText("")}
          spellCheck={false}
          autoComplete="off"
        />
      </form>
      {query !== "" && (
        <div aria-live="polite" data-testid="user-search-results">
          <QueryView state={{ ...res, data: current ? res.data : undefined }} isEmpty={(d) => d.length === 0} empty={<Empty title="No user matches" />}>
            {(users) => (
              <ul className="search-results">
                {users.map((u) => (
                  <li key={u.id}>
                    <Link to={`/users/${encodeURIComponent(u.id)}`} className="user-link">
                      {u.name ?? u.email ?? u.externalId ?? u.clerkUserId ?? u.id}
                    </Link>
                    <span className="muted"> {[u.email, u.externalId ?? u.clerkUserId].filter(Boolean).join(" · ")}</span>
                  </li>
                ))}
              </ul>
            )}
          </QueryView>
        </div>
      )}
    </div>
  );
}
