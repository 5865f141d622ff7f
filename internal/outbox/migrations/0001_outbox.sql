-- One entry per gateway request: the rows it produced, shipped together.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  key             TEXT NOT NULL UNIQUE,      -- the request id
  state           TEXT NOT NULL,             -- ready | pending | dead
  body            BLOB NOT NULL,             -- JSON store.Batch
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0, -- ms; pending entries wait for it
  last_error      TEXT,
  created_at      INTEGER NOT NULL,          -- ms
  updated_at      INTEGER NOT NULL
);
CREATE INDEX outbox_by_state_and_id ON outbox(state, id);
