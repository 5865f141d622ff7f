package store

import (
	"errors"
	"fmt"
	"unicode/utf16"
)

// EnsureUserInput names a user by exactly one of its stable ids.
type EnsureUserInput struct {
	ExternalID  string
	ClerkUserID string
	Email       string
	Name        string
}

// Validate reports every problem at once.
func (in EnsureUserInput) Validate() error {
	var errs []error
	if (in.ExternalID == "") == (in.ClerkUserID == "") {
		errs = append(errs, errors.New("exactly one of externalId and clerkUserId is required"))
	}
	if len(in.ExternalID) > 256 || len(in.ClerkUserID) > 256 {
		errs = append(errs, errors.New("user ids are at most 256 bytes"))
	}
	// Convex's /users/ensure bounds them so, in JavaScript's characters.
	if utf16Len(in.Name) > 256 {
		errs = append(errs, errors.New("name: at most 256 characters"))
	}
	if utf16Len(in.Email) > 320 {
		errs = append(errs, errors.New("email: at most 320 characters"))
	}
	return invalid(errs)
}

// NewAPIKey is what CreateAPIKey stores.
type NewAPIKey struct {
	UserID  string
	Hash    string // lowercase hex SHA-256 of the secret
	Prefix  string // the first characters of the secret, for display
	Name    string
	IsAdmin bool
	// IsService: the key names its end users (see APIKey.IsService). A
	// service key is never an admin key: it acts for other people.
	IsService bool
	// OnlyFirst: store the key only if the store holds no key at all,
	// checked in the same transaction (else ErrKeysExist). The bootstrap
	// admin key uses it: replicas starting together on an empty store
	// create one admin key between them, not one each.
	OnlyFirst bool
}

// Validate reports every problem at once.
func (in NewAPIKey) Validate() error {
	var errs []error
	if in.UserID == "" {
		errs = append(errs, errors.New("userId is required"))
	}
	if len(in.Hash) != 64 {
		errs = append(errs, errors.New("hash must be 64 hex characters"))
	}
	if in.Prefix == "" {
		errs = append(errs, errors.New("prefix is required"))
	}
	if len(in.Name) > 200 {
		errs = append(errs, errors.New("name is at most 200 bytes"))
	}
	if in.IsAdmin && in.IsService {
		errs = append(errs, errors.New("a key is an admin key or a service key, not both"))
	}
	return invalid(errs)
}

// Validate checks every row of b and names the first bad field of each bad
// row, e.g. "usage[3].promptTokens: must not be negative".
func (b Batch) Validate() error {
	var errs []error
	for i, u := range b.Usage {
		errs = append(errs, rowErr("usage", i, u.validate())...)
	}
	for i, l := range b.RequestLogs {
		errs = append(errs, rowErr("requestLogs", i, l.validate())...)
	}
	for i, a := range b.Activity {
		errs = append(errs, rowErr("activity", i, a.validate())...)
	}
	return invalid(errs)
}

func (u Usage) validate() []string {
	var p []string
	req := func(name, v string) {
		if v == "" {
			p = append(p, name+": is required")
		}
	}
	req("generationId", u.GenerationID)
	req("requestId", u.RequestID)
	req("userId", u.UserID)
	req("model", u.Model)
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"promptTokens", u.PromptTokens}, {"completionTokens", u.CompletionTokens},
		{"totalTokens", u.TotalTokens}, {"cachedTokens", u.CachedTokens},
		{"reasoningTokens", u.ReasoningTokens}, {"costNanoUsd", int64(u.Cost)},
		{"timestamp", u.Timestamp}, {"processingTime", u.ProcessingTime},
	} {
		if f.v < 0 {
			p = append(p, f.name+": must not be negative")
		} else if f.v > MaxAmount {
			p = append(p, fmt.Sprintf("%s: must be at most %d", f.name, MaxAmount))
		}
	}
	switch u.CostStatus {
	case CostReported, CostEstimated, CostConfirmed:
	default:
		p = append(p, fmt.Sprintf("costStatus: unknown value %q", u.CostStatus))
	}
	return p
}

func (l RequestLog) validate() []string {
	var p []string
	if l.RequestID == "" {
		p = append(p, "requestId: is required")
	}
	if l.Status != StatusSuccess && l.Status != StatusError {
		p = append(p, fmt.Sprintf("status: unknown value %q", l.Status))
	}
	if l.StatusCode < 100 || l.StatusCode > 599 {
		p = append(p, "statusCode: must be an HTTP status")
	}
	if l.Timestamp < 0 || l.ProcessingTime < 0 || l.RequestSize < 0 || l.ResponseSize < 0 {
		p = append(p, "timestamp, processingTime and sizes: must not be negative")
	}
	return p
}

func (a Activity) validate() []string {
	var p []string
	if a.ActivityKey == "" {
		p = append(p, "activityKey: is required")
	}
	if a.UserID == "" {
		p = append(p, "userId: is required")
	}
	if a.ActivityType == "" {
		p = append(p, "activityType: is required")
	}
	return p
}

func rowErr(kind string, i int, problems []string) []error {
	errs := make([]error, len(problems))
	for j, p := range problems {
		errs[j] = fmt.Errorf("%s[%d].%s", kind, i, p)
	}
	return errs
}

// invalid joins problems under ErrInvalid, or returns nil when there are none.
func invalid(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
}

// utf16Len is the length of s in UTF-16 code units, JavaScript's string
// length.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
