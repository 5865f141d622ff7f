package app

import (
	"context"
	"testing"

	"llmmeter/internal/auth"
	"llmmeter/internal/store"
)

func userInput(name string) store.EnsureUserInput { return store.EnsureUserInput{ExternalID: name} }

func issueKey(t *testing.T, a *App, userID string) string {
	t.Helper()
	key, _, err := auth.IssueKey(context.Background(), a.Store, userID, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// backend is a running Convex test backend: one URL serves the HTTP actions
// and the HTTP API.
type backend struct{ URL, Secret string }
