package convexstore

import (
	"context"

	"llmmeter/internal/store"
)

type userView struct {
	ID          string  `json:"id"`
	ClerkUserID *string `json:"clerkUserId"`
	ExternalID  *string `json:"externalId"`
	Email       *string `json:"email"`
	Name        *string `json:"name"`
	CreatedAt   int64   `json:"createdAt"`
}

func (v userView) user() store.User {
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return store.User{ID: v.ID, ClerkUserID: deref(v.ClerkUserID), ExternalID: deref(v.ExternalID), Email: deref(v.Email), Name: deref(v.Name), CreatedAt: v.CreatedAt}
}

// EnsureUser calls /users/ensure: one round trip, since the route answers
// with the user (a first-seen end user's call waits for it). A deployment
// from before that answers with the id alone; the user is then read with
// /users/get.
func (s *Store) EnsureUser(ctx context.Context, in store.EnsureUserInput) (store.User, bool, error) {
	if err := in.Validate(); err != nil {
		return store.User{}, false, err
	}
	body := map[string]string{}
	for k, v := range map[string]string{"clerkUserId": in.ClerkUserID, "externalId": in.ExternalID, "email": in.Email, "name": in.Name} {
		if v != "" {
			body[k] = v
		}
	}
	var out struct {
		UserID  string    `json:"userId"`
		Created bool      `json:"created"`
		User    *userView `json:"user"`
	}
	if err := s.call(ctx, "/users/ensure", body, &out); err != nil {
		return store.User{}, false, err
	}
	if out.User != nil {
		return out.User.user(), out.Created, nil
	}
	u, err := s.User(ctx, out.UserID)
	return u, out.Created, err
}

// User calls /users/get.
func (s *Store) User(ctx context.Context, id string) (store.User, error) {
	var out struct {
		User *userView `json:"user"`
	}
	if err := s.call(ctx, "/users/get", map[string]string{"userId": id}, &out); err != nil {
		return store.User{}, err
	}
	if out.User == nil {
		return store.User{}, store.ErrNotFound
	}
	return out.User.user(), nil
}

type keyView struct {
	ID        string `json:"id"`
	UserID    string `json:"userId"`
	IsAdmin   bool   `json:"isAdmin"`
	IsService bool   `json:"isService"`
	Revoked   bool   `json:"revoked"`
	Prefix    string `json:"prefix"`
	Name      string `json:"name"`
	CreatedAt int64  `json:"createdAt"`
	RevokedAt *int64 `json:"revokedAt"`
}

func (v keyView) key() store.APIKey {
	k := store.APIKey{ID: v.ID, UserID: v.UserID, Prefix: v.Prefix, Name: v.Name, IsAdmin: v.IsAdmin, IsService: v.IsService, CreatedAt: v.CreatedAt}
	if v.RevokedAt != nil {
		k.RevokedAt = *v.RevokedAt
	} else if v.Revoked {
		k.RevokedAt = 1 // revoked at an unreported time
	}
	return k
}

// CreateAPIKey calls /apikeys/create.
func (s *Store) CreateAPIKey(ctx context.Context, in store.NewAPIKey) (store.APIKey, error) {
	if err := in.Validate(); err != nil {
		return store.APIKey{}, err
	}
	var out struct {
		Key *keyView `json:"key"`
		ID  string   `json:"id"`
	}
	body := map[string]any{"userId": in.UserID, "keyHash": in.Hash, "prefix": in.Prefix, "name": in.Name, "isAdmin": in.IsAdmin, "isService": in.IsService}
	if in.OnlyFirst {
		body["onlyFirst"] = true
	}
	if err := s.call(ctx, "/apikeys/create", body, &out); err != nil {
		return store.APIKey{}, err
	}
	if out.Key == nil && out.ID == "" { // {id: null}: OnlyFirst found keys
		return store.APIKey{}, store.ErrKeysExist
	}
	if out.Key != nil {
		return out.Key.key(), nil
	}
	return store.APIKey{ID: out.ID, UserID: in.UserID, Prefix: in.Prefix, Name: in.Name, IsAdmin: in.IsAdmin, IsService: in.IsService}, nil
}

// APIKeyByHash calls /apikeys/lookup.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	var out struct {
		Key *keyView `json:"key"`
	}
	if err := s.call(ctx, "/apikeys/lookup", map[string]string{"keyHash": hash}, &out); err != nil {
		return store.APIKey{}, err
	}
	if out.Key == nil {
		return store.APIKey{}, store.ErrNotFound
	}
	return out.Key.key(), nil
}

// ListAPIKeys calls /apikeys/list.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]store.APIKey, error) {
	body := map[string]string{}
	if userID != "" {
		body["userId"] = userID
	}
	var out struct {
		Keys []keyView `json:"keys"`
	}
	if err := s.call(ctx, "/apikeys/list", body, &out); err != nil {
		return nil, err
	}
	keys := make([]store.APIKey, len(out.Keys))
	for i, k := range out.Keys {
		keys[i] = k.key()
	}
	return keys, nil
}

// RevokeAPIKey calls /apikeys/revoke.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return s.call(ctx, "/apikeys/revoke", map[string]string{"id": id}, nil)
}

// BackfillUserSearchKeys calls /users/searchkeys/backfill: one page (500
// users) of writing the llmmeter:searchUsers keys of users stored before
// them. cursor "" starts; next is the following page's cursor.
func (s *Store) BackfillUserSearchKeys(ctx context.Context, cursor string) (next string, done bool, patched int, err error) {
	body := map[string]any{}
	if cursor != "" {
		body["cursor"] = cursor
	}
	var out struct {
		Cursor  string `json:"cursor"`
		IsDone  bool   `json:"isDone"`
		Patched int    `json:"patched"`
	}
	if err := s.call(ctx, "/users/searchkeys/backfill", body, &out); err != nil {
		return "", false, 0, err
	}
	return out.Cursor, out.IsDone, out.Patched, nil
}
