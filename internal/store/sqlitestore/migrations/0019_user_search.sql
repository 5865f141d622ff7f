-- llmmeter:searchUsers (admin_user_search.go): a prefix range on each
-- searched field, ignoring the case of ASCII letters. SQLite's lower() folds
-- ASCII letters only, exactly the key Convex stores (packages/convex/src/
-- lib/userSearch.ts), so the key is an index expression here, not a column:
-- CREATE INDEX computes it for every user already stored (no backfill) and
-- keeps it for every insert and update, whatever path writes the row. The id
-- is the second column so that ties come back by id.
CREATE INDEX users_by_name_key ON users(lower(name), id);
CREATE INDEX users_by_email_key ON users(lower(email), id);
CREATE INDEX users_by_id_key ON users(lower(COALESCE(externalId, clerkUserId)), id);
