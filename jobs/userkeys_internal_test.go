package jobs

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// keyStore is a Store whose users need search keys: pages of 2, 2 and 1
// users, and a failure when fail is set.
type keyStore struct {
	Store
	cursors []string
	fail    bool
}

func (s *keyStore) BackfillUserSearchKeys(_ context.Context, cursor string) (string, bool, int, error) {
	s.cursors = append(s.cursors, cursor)
	if s.fail {
		return "", false, 0, errors.New("store down")
	}
	switch cursor {
	case "":
		return "c1", false, 2, nil
	case "c1":
		return "c2", false, 2, nil
	}
	return "c3", true, 1, nil
}

// TestUserKeysWalkEveryPageOnce: the fold's runs write one page of search
// keys each, from the start to the last page, then ask no more; a failed
// page is asked again at the next run; a store without the method (the
// embedded engine, whose index computes the key) is left alone.
func TestUserKeysWalkEveryPageOnce(t *testing.T) {
	ctx := context.Background()
	st := &keyStore{}
	var k userKeys
	var patched []int64
	for range 2 {
		c := Counts{}
		if err := k.step(ctx, st, c); err != nil {
			t.Fatal(err)
		}
		patched = append(patched, c["userSearchKeys"])
	}
	st.fail = true
	if err := k.step(ctx, st, Counts{}); err == nil {
		t.Fatal("a failed page was not reported")
	}
	st.fail = false
	for range 3 {
		c := Counts{}
		if err := k.step(ctx, st, c); err != nil {
			t.Fatal(err)
		}
		if n, ok := c["userSearchKeys"]; ok {
			patched = append(patched, n)
		}
	}
	if want := []string{"", "c1", "c2", "c2"}; !reflect.DeepEqual(st.cursors, want) {
		t.Errorf("pages asked from %q, want %q", st.cursors, want)
	}
	if want := []int64{2, 2, 1}; !reflect.DeepEqual(patched, want) {
		t.Errorf("patched %v, want %v", patched, want)
	}

	var none userKeys
	if err := none.step(ctx, struct{ Store }{}, Counts{}); err != nil || none.done {
		t.Errorf("a store without search keys: %v, done %v", err, none.done)
	}
}
