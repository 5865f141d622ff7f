// Package store defines the engine-neutral rows and the Store interface that
// both engines implement: the embedded SQLite engine (store/sqlitestore) and
// the Convex engine (through convexclient).
//
// Rows carry their own idempotency key (the generation id for usage, the
// request id for request logs and activity), so Ingest may be called any
// number of times with the same rows and stores each once. The JSON tags are
// the wire names of the Convex ingest HTTP action; both engines use them.
package store

import (
	"context"
	"encoding/json"
	"errors"

	"llmmeter/internal/money"
)

// CostStatus says how far a usage row's cost can be trusted.
type CostStatus string

const (
	// CostReported is usage.cost as OpenRouter reported it in the response.
	CostReported CostStatus = "reported"
	// CostEstimated was computed from /models pricing because the response
	// carried no cost; a backfill replaces it from the generation record.
	CostEstimated CostStatus = "estimated"
	// CostConfirmed was read from OpenRouter's generation record.
	CostConfirmed CostStatus = "confirmed"
)

// Request-log status values, as in the seed schema.
const (
	StatusSuccess = "success"
	StatusError   = "error"
)

// Usage is one generation served by OpenRouter (table usageTracking).
type Usage struct {
	GenerationID     string      `json:"generationId"`
	RequestID        string      `json:"requestId"`
	UserID           string      `json:"userId"`
	APIKeyID         string      `json:"apiKeyId,omitempty"` // the key the call came through; "" for Clerk tokens
	ConversationID   string      `json:"conversationId,omitempty"`
	MessageID        string      `json:"messageId,omitempty"`
	Model            string      `json:"model"`
	Provider         string      `json:"provider,omitempty"`
	PromptTokens     int64       `json:"promptTokens"`
	CompletionTokens int64       `json:"completionTokens"`
	TotalTokens      int64       `json:"totalTokens"`
	CachedTokens     int64       `json:"cachedTokens"`
	ReasoningTokens  int64       `json:"reasoningTokens"`
	Cost             money.Nanos `json:"-"` // costNanoUsd on the wire: integer nanos, see MarshalJSON
	CostStatus       CostStatus  `json:"costStatus"`
	Cancelled        bool        `json:"cancelled"`
	FinishReason     string      `json:"finishReason,omitempty"`
	Timestamp        int64       `json:"timestamp"`      // ms since epoch, request start
	ProcessingTime   int64       `json:"processingTime"` // ms, request start to end
	IsBYOK           bool        `json:"isByok"`
	Stream           bool        `json:"stream"`
}

// usageWire is Usage on the wire, where cost is an integer count of nanos
// (money.Nanos alone would marshal as decimal dollars).
type usageWire struct {
	usageAlias
	CostNanoUsd int64 `json:"costNanoUsd"`
}

type usageAlias Usage

// MarshalJSON writes the cost as costNanoUsd, an integer.
func (u Usage) MarshalJSON() ([]byte, error) {
	return json.Marshal(usageWire{usageAlias(u), int64(u.Cost)})
}

// UnmarshalJSON reads costNanoUsd as an integer count of nanos.
func (u *Usage) UnmarshalJSON(b []byte) error {
	var w usageWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*u = Usage(w.usageAlias)
	u.Cost = money.Nanos(w.CostNanoUsd)
	return nil
}

// RequestLog is one HTTP request to the gateway (table requestLogs).
type RequestLog struct {
	RequestID        string `json:"requestId"`
	UserID           string `json:"userId,omitempty"`
	APIKeyID         string `json:"apiKeyId,omitempty"`       // the key the call came through; "" for Clerk tokens
	ConversationID   string `json:"conversationId,omitempty"` // the chat app's ids, as the caller sent them
	MessageID        string `json:"messageId,omitempty"`
	RequestType      string `json:"requestType"`
	Method           string `json:"method"`
	Endpoint         string `json:"endpoint"`
	Model            string `json:"model,omitempty"`
	GenerationID     string `json:"generationId,omitempty"`
	Status           string `json:"status"`
	StatusCode       int    `json:"statusCode"`
	ErrorType        string `json:"errorType,omitempty"`
	ErrorMessage     string `json:"errorMessage,omitempty"`
	RequestSize      int64  `json:"requestSize"`
	ResponseSize     int64  `json:"responseSize"`
	ProcessingTime   int64  `json:"processingTime"`
	TimeToFirstToken int64  `json:"timeToFirstToken,omitempty"`
	UserAgent        string `json:"userAgent,omitempty"`
	IPAddress        string `json:"ipAddress,omitempty"`
	Timestamp        int64  `json:"timestamp"`
}

// ErrorQuotaExceeded is the errorType of the request log of a call the
// gateway refused on a quota (status 429; the message names the quota
// type). Such a call never went upstream: it has no usage row, and it is
// counted neither in aggregates nor toward daily_requests, so a refused
// user cannot push their own count further (IsQuotaRefusal).
const ErrorQuotaExceeded = "quota_exceeded"

// IsQuotaRefusal reports whether l records a call refused on a quota.
func IsQuotaRefusal(l RequestLog) bool { return l.ErrorType == ErrorQuotaExceeded }

// Activity is one thing a user did (table userActivity).
type Activity struct {
	ActivityKey  string         `json:"activityKey"`
	UserID       string         `json:"userId"`
	APIKeyID     string         `json:"apiKeyId,omitempty"` // the key involved, if any
	ActivityType string         `json:"activityType"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	Timestamp    int64          `json:"timestamp"`
}

// Activity types the service records.
const (
	ActivityChatCompletion = "chat_completion"
	ActivityAPIKeyCreated  = "api_key_created"
)

// Batch is what Ingest takes: any mix of rows.
type Batch struct {
	Usage       []Usage      `json:"usage,omitempty"`
	RequestLogs []RequestLog `json:"requestLogs,omitempty"`
	Activity    []Activity   `json:"activity,omitempty"`
}

// Len is the number of rows in b.
func (b Batch) Len() int { return len(b.Usage) + len(b.RequestLogs) + len(b.Activity) }

// Append adds o's rows to b.
func (b *Batch) Append(o Batch) {
	b.Usage = append(b.Usage, o.Usage...)
	b.RequestLogs = append(b.RequestLogs, o.RequestLogs...)
	b.Activity = append(b.Activity, o.Activity...)
}

// Counts counts rows by kind.
type Counts struct {
	Usage       int `json:"usage"`
	RequestLogs int `json:"requestLogs"`
	Activity    int `json:"activity"`
}

// IngestResult says what an Ingest stored and what it had already.
type IngestResult struct {
	Inserted   Counts `json:"inserted"`
	Duplicates Counts `json:"duplicates"`
}

// User is a person or service the gateway serves.
type User struct {
	ID          string `json:"id"`
	ExternalID  string `json:"externalId,omitempty"`
	ClerkUserID string `json:"clerkUserId,omitempty"`
	Email       string `json:"email,omitempty"`
	Name        string `json:"name,omitempty"`
	CreatedAt   int64  `json:"createdAt"`
}

// APIKey is a stored key; the secret itself is never stored, only its hash.
type APIKey struct {
	ID      string `json:"id"`
	UserID  string `json:"userId"`
	Prefix  string `json:"prefix"`
	Name    string `json:"name"`
	IsAdmin bool   `json:"isAdmin"`
	// IsService marks a key held by a server (the chat app's backend) that
	// names the end user of each call (X-Llmmeter-User); rows then belong
	// to that end user, not to the key's own user.
	IsService bool  `json:"isService"`
	CreatedAt int64 `json:"createdAt"`
	RevokedAt int64 `json:"revokedAt,omitempty"`
}

// Revoked reports whether the key may no longer be used.
func (k APIKey) Revoked() bool { return k.RevokedAt != 0 }

// Errors callers branch on.
var (
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid marks input the store refuses; the message names the field.
	ErrInvalid = errors.New("store: invalid input")
	// ErrKeysExist: a NewAPIKey with OnlyFirst found keys stored.
	ErrKeysExist = errors.New("store: API keys exist")
)

// Store is the system of record. Implementations are safe for concurrent use.
type Store interface {
	// Ingest stores the rows of b that are not stored yet, atomically.
	Ingest(ctx context.Context, b Batch) (IngestResult, error)

	// EnsureUser returns the user with in's external or Clerk id, creating
	// it when absent; created reports which.
	EnsureUser(ctx context.Context, in EnsureUserInput) (u User, created bool, err error)
	// User returns the user with id, or ErrNotFound.
	User(ctx context.Context, id string) (User, error)

	// CreateAPIKey stores a key by its hash.
	CreateAPIKey(ctx context.Context, in NewAPIKey) (APIKey, error)
	// APIKeyByHash returns the key with that hash (revoked or not), or ErrNotFound.
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	// ListAPIKeys lists keys, all of them when userID is empty.
	ListAPIKeys(ctx context.Context, userID string) ([]APIKey, error)
	// RevokeAPIKey revokes the key with id; revoking twice is not an error.
	RevokeAPIKey(ctx context.Context, id string) error

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	Close() error
}
