package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"llmmeter/internal/store"
)

const userCols = `id, COALESCE(externalId,''), COALESCE(clerkUserId,''), COALESCE(email,''), COALESCE(name,''), createdAt`

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.ExternalID, &u.ClerkUserID, &u.Email, &u.Name, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return u, store.ErrNotFound
	}
	return u, err
}

// EnsureUser finds the user by its external or Clerk id, creating it if
// absent. A found user takes the input's name and email where they are
// given (not empty) and differ, as Convex's ensureUser does (the Go client
// leaves empty fields out, and an absent field keeps the stored one), so a
// user renamed in Clerk is found by the new name; nothing is written when
// nothing changed.
func (s *Store) EnsureUser(ctx context.Context, in store.EnsureUserInput) (store.User, bool, error) {
	if err := in.Validate(); err != nil {
		return store.User{}, false, err
	}
	col, key := "externalId", in.ExternalID
	if in.ClerkUserID != "" {
		col, key = "clerkUserId", in.ClerkUserID
	}
	var (
		u       store.User
		created bool
	)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+col+` = ?`, key))
		if err == nil {
			return updateUserFields(ctx, tx, &u, in)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		u = store.User{ID: newID("u_"), ExternalID: in.ExternalID, ClerkUserID: in.ClerkUserID, Email: in.Email, Name: in.Name, CreatedAt: s.nowMs()}
		created = true
		_, err = tx.ExecContext(ctx, `INSERT INTO users (id, externalId, clerkUserId, email, name, createdAt) VALUES (?,?,?,?,?,?)`,
			u.ID, nullStr(u.ExternalID), nullStr(u.ClerkUserID), nullStr(u.Email), nullStr(u.Name), u.CreatedAt)
		return err
	})
	if err != nil {
		return store.User{}, false, fmt.Errorf("sqlitestore: ensure user: %w", err)
	}
	return u, created, nil
}

// updateUserFields stores in's name and email on the found user u where
// they are given and differ, and updates u to match.
func updateUserFields(ctx context.Context, tx *sql.Tx, u *store.User, in store.EnsureUserInput) error {
	email, name := u.Email, u.Name
	if in.Email != "" {
		email = in.Email
	}
	if in.Name != "" {
		name = in.Name
	}
	if email == u.Email && name == u.Name {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, name = ? WHERE id = ?`, nullStr(email), nullStr(name), u.ID); err != nil {
		return err
	}
	u.Email, u.Name = email, name
	return nil
}

// UserByExternalID returns the user with external id ext (a CLI name, an
// end user's id), or store.ErrNotFound.
func (s *Store) UserByExternalID(ctx context.Context, ext string) (store.User, error) {
	return scanUser(s.db.R.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE externalId = ?`, ext))
}

// User returns the user with id.
func (s *Store) User(ctx context.Context, id string) (store.User, error) {
	return scanUser(s.db.R.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
}

const keyCols = `id, userId, prefix, name, isAdmin, isService, createdAt, COALESCE(revokedAt, 0)`

func scanKey(row interface{ Scan(...any) error }) (store.APIKey, error) {
	var k store.APIKey
	err := row.Scan(&k.ID, &k.UserID, &k.Prefix, &k.Name, &k.IsAdmin, &k.IsService, &k.CreatedAt, &k.RevokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return k, store.ErrNotFound
	}
	return k, err
}

// CreateAPIKey stores a new key by its hash.
func (s *Store) CreateAPIKey(ctx context.Context, in store.NewAPIKey) (store.APIKey, error) {
	if err := in.Validate(); err != nil {
		return store.APIKey{}, err
	}
	if _, err := s.User(ctx, in.UserID); err != nil {
		return store.APIKey{}, fmt.Errorf("sqlitestore: create key for user %q: %w", in.UserID, err)
	}
	k := store.APIKey{ID: newID("k_"), UserID: in.UserID, Prefix: in.Prefix, Name: in.Name, IsAdmin: in.IsAdmin, IsService: in.IsService, CreatedAt: s.nowMs()}
	// One statement, so OnlyFirst's check and the insert are one transaction.
	res, err := s.db.W.ExecContext(ctx, `INSERT INTO apiKeys (id, userId, keyHash, prefix, name, isAdmin, isService, createdAt)
		SELECT ?,?,?,?,?,?,?,? WHERE NOT ? OR NOT EXISTS (SELECT 1 FROM apiKeys)`,
		k.ID, k.UserID, in.Hash, k.Prefix, k.Name, boolInt(k.IsAdmin), boolInt(k.IsService), k.CreatedAt, boolInt(in.OnlyFirst))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("sqlitestore: create key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.APIKey{}, fmt.Errorf("sqlitestore: create key: %w", err)
	} else if n == 0 {
		return store.APIKey{}, store.ErrKeysExist
	}
	return k, nil
}

// keyByHashSQL is prepared once (Store.keyByHash): every call with an API
// key looks its key up, and parsing the statement each time was a third
// of the look-up's CPU.
const keyByHashSQL = `SELECT ` + keyCols + ` FROM apiKeys WHERE keyHash = ?`

// APIKeyByHash returns the key with hash.
//
// The look-up takes microseconds, so it runs under a context that cannot
// end: database/sql and the driver each start a goroutine per query to
// watch one that can (the call's), two goroutine starts per call for
// nothing. A reader is never held long but by an admin read, and the call
// waits for it either way.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	return scanKey(s.keyByHash.QueryRowContext(context.WithoutCancel(ctx), hash))
}

// ListAPIKeys lists keys oldest first, of one user or of all.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]store.APIKey, error) {
	q, args := `SELECT `+keyCols+` FROM apiKeys ORDER BY createdAt, id`, []any{}
	if userID != "" {
		q, args = `SELECT `+keyCols+` FROM apiKeys WHERE userId = ? ORDER BY createdAt, id`, []any{userID}
	}
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list keys: %w", err)
	}
	defer rows.Close()
	var keys []store.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeAPIKey marks the key revoked; the first revocation time is kept.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	r, err := s.db.W.ExecContext(ctx, `UPDATE apiKeys SET revokedAt = COALESCE(revokedAt, ?) WHERE id = ?`, s.nowMs(), id)
	if err != nil {
		return fmt.Errorf("sqlitestore: revoke key: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}
