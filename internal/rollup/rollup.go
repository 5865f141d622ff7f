// Package rollup is the one definition of the aggregate rows (table
// usageAggregates) both engines store: what each raw row adds, to which
// keys. The fold (internal/fold) and the rebuild (jobs.Rebuild) compute
// with it; the engines only store and read what it computes.
//
// Every row contributes to the four periods of its timestamp, in scopes:
// system (always), user (when it has a user), model (usage and request-log
// rows). A request is counted once, by its request-log row; usage rows add
// tokens and cost; activity rows add conversationsStarted / filesUploaded.
// Every key is one row (Shard 0). Rows stored before the fold may carry
// shards 1–7, which readers merge and a rebuild zeroes.
package rollup

import (
	"slices"
	"strings"

	"llmmeter/internal/periods"
	"llmmeter/internal/store"
)

// Scopes of aggregate rows.
const (
	ScopeSystem = "system"
	ScopeUser   = "user"
	ScopeModel  = "model"
)

// MaxModels caps a row's list of distinct models.
const MaxModels = 64

// LatencyBounds are the inclusive upper bounds (ms) of the latency
// buckets; one more bucket holds the rest.
var LatencyBounds = [...]int64{100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000}

// NumBuckets is len(LatencyBounds)+1.
const NumBuckets = len(LatencyBounds) + 1

// LatencyBucket is the bucket of a processing time.
func LatencyBucket(ms int64) int {
	for i, b := range LatencyBounds {
		if ms <= b {
			return i
		}
	}
	return len(LatencyBounds)
}

// FineBounds are the inclusive upper bounds (ms) of the fine buckets used
// for processing-time and time-to-first-token percentiles: geometric, each
// 25 % wider than the last (round(25·1.25^k)), 25 ms to ~12 min; one more
// bucket holds the rest. The coarse LatencyBuckets stay for stored rows.
// The TS twin is FINE_BOUNDS in packages/convex/src/lib/aggregates.ts.
var FineBounds = [...]int64{25, 31, 39, 49, 61, 76, 95, 119, 149, 186, 233, 291, 364, 455, 568, 711, 888,
	1110, 1388, 1735, 2168, 2711, 3388, 4235, 5294, 6617, 8272, 10340, 12925, 16156, 20195, 25244, 31554,
	39443, 49304, 61630, 77037, 96296, 120371, 150463, 188079, 235099, 293874, 367342, 459177, 573972, 717465}

// NumFine is len(FineBounds)+1.
const NumFine = len(FineBounds) + 1

// FineBucket is the fine bucket of a duration in ms.
func FineBucket(ms int64) int {
	i, _ := slices.BinarySearch(FineBounds[:], ms)
	return i
}

// Counters is the additive part of an aggregate row. Cost is exact nanos.
type Counters struct {
	TotalRequests        int64             `json:"totalRequests"`
	SuccessfulRequests   int64             `json:"successfulRequests"`
	FailedRequests       int64             `json:"failedRequests"`
	PromptTokens         int64             `json:"promptTokens"`
	CompletionTokens     int64             `json:"completionTokens"`
	TotalTokens          int64             `json:"totalTokens"`
	CachedTokens         int64             `json:"cachedTokens"`
	ReasoningTokens      int64             `json:"reasoningTokens"`
	TotalCostNanoUsd     int64             `json:"totalCostNanoUsd"`
	TotalProcessingTime  int64             `json:"totalProcessingTime"`
	ConversationsStarted int64             `json:"conversationsStarted"`
	FilesUploaded        int64             `json:"filesUploaded"`
	LatencyBuckets       [NumBuckets]int64 `json:"latencyBuckets"`
	// LatencyFine counts processing times per FineBounds bucket; TTFTBuckets
	// counts times to first token (requests that recorded one) likewise.
	// Rows stored before they existed read as all zeros.
	LatencyFine [NumFine]int64 `json:"latencyFine"`
	TTFTBuckets [NumFine]int64 `json:"ttftBuckets"`
}

// Add adds o to c.
func (c *Counters) Add(o Counters) {
	c.TotalRequests += o.TotalRequests
	c.SuccessfulRequests += o.SuccessfulRequests
	c.FailedRequests += o.FailedRequests
	c.PromptTokens += o.PromptTokens
	c.CompletionTokens += o.CompletionTokens
	c.TotalTokens += o.TotalTokens
	c.CachedTokens += o.CachedTokens
	c.ReasoningTokens += o.ReasoningTokens
	c.TotalCostNanoUsd += o.TotalCostNanoUsd
	c.TotalProcessingTime += o.TotalProcessingTime
	c.ConversationsStarted += o.ConversationsStarted
	c.FilesUploaded += o.FilesUploaded
	for i := range c.LatencyBuckets {
		c.LatencyBuckets[i] += o.LatencyBuckets[i]
	}
	for i := range c.LatencyFine {
		c.LatencyFine[i] += o.LatencyFine[i]
		c.TTFTBuckets[i] += o.TTFTBuckets[i]
	}
}

// Key identifies an aggregate row.
type Key struct {
	Scope       string         `json:"scope"`
	UserID      string         `json:"userId,omitempty"`
	Model       string         `json:"model,omitempty"`
	Period      periods.Period `json:"period"`
	PeriodStart int64          `json:"periodStart"`
	Shard       int            `json:"shard"`
}

// Row is one aggregate row: the wire shape of /jobs/aggregates/upsert.
type Row struct {
	Key
	PeriodKey string `json:"periodKey"`
	Counters
	Models []string `json:"models"`
}

// UsageDelta is what a usage row adds.
func UsageDelta(u store.Usage) Counters {
	return Counters{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens,
		CachedTokens: u.CachedTokens, ReasoningTokens: u.ReasoningTokens, TotalCostNanoUsd: int64(u.Cost)}
}

// RequestDelta is what a request-log row adds.
func RequestDelta(l store.RequestLog) Counters {
	c := Counters{TotalRequests: 1, TotalProcessingTime: l.ProcessingTime}
	if l.Status == store.StatusSuccess {
		c.SuccessfulRequests = 1
	} else {
		c.FailedRequests = 1
	}
	c.LatencyBuckets[LatencyBucket(l.ProcessingTime)] = 1
	c.LatencyFine[FineBucket(l.ProcessingTime)] = 1
	if l.TimeToFirstToken > 0 {
		c.TTFTBuckets[FineBucket(l.TimeToFirstToken)] = 1
	}
	return c
}

// Activity types that feed aggregates.
const (
	ActivityConversationStarted = "conversation_started"
	ActivityFileUploaded        = "file_uploaded"
)

// ActivityDelta is what an activity row adds.
func ActivityDelta(a store.Activity) Counters {
	var c Counters
	switch a.ActivityType {
	case ActivityConversationStarted:
		c.ConversationsStarted = 1
	case ActivityFileUploaded:
		c.FilesUploaded = 1
	}
	return c
}

// Batch accumulates aggregate deltas per key.
type Batch struct {
	cal  *periods.Calendar
	rows map[Key]*Row
	hour hourSpan
}

// hourSpan holds the periods of one local hour: every instant of an hour
// lies in the same day, week and month, so rows of the same hour (a
// delivery batch is seconds of traffic) share one computation of their
// periods instead of four calendar conversions each (issue 15, fourth
// round: a tenth of the ingest's fold).
type hourSpan struct {
	lo, hi int64          // [start of the hour, start of the next), ms
	infos  []periods.Info // of periods.All, in order; nil before the first row
}

// periodsOf returns the periods of ts, one per periods.All.
func (b *Batch) periodsOf(ts int64) []periods.Info {
	h := &b.hour
	if h.infos != nil && ts >= h.lo && ts < h.hi {
		return h.infos
	}
	h.infos = make([]periods.Info, len(periods.All))
	for i, p := range periods.All {
		h.infos[i] = b.cal.Of(p, ts)
	}
	h.lo, h.hi = b.cal.Of(periods.Hourly, ts).Start, b.cal.Next(periods.Hourly, ts)
	return h.infos
}

// NewBatch returns an empty batch computing periods in cal's time zone.
func NewBatch(cal *periods.Calendar) *Batch {
	return &Batch{cal: cal, rows: map[Key]*Row{}}
}

// AddUsage adds a usage row.
func (b *Batch) AddUsage(u store.Usage) {
	b.add(u.UserID, u.Model, u.Timestamp, UsageDelta(u))
}

// AddRequestLog adds a request-log row.
func (b *Batch) AddRequestLog(l store.RequestLog) {
	if store.IsQuotaRefusal(l) {
		return // listed among the requests, counted nowhere
	}
	b.add(l.UserID, l.Model, l.Timestamp, RequestDelta(l))
}

// AddActivity adds an activity row.
func (b *Batch) AddActivity(a store.Activity) {
	b.add(a.UserID, "", a.Timestamp, ActivityDelta(a))
}

func (b *Batch) add(userID, model string, ts int64, d Counters) {
	for _, info := range b.periodsOf(ts) {
		p := info.Period
		b.addTo(Key{Scope: ScopeSystem, Period: p, PeriodStart: info.Start}, info.Key, d, model)
		if userID != "" {
			b.addTo(Key{Scope: ScopeUser, UserID: userID, Period: p, PeriodStart: info.Start}, info.Key, d, model)
		}
		if model != "" {
			b.addTo(Key{Scope: ScopeModel, Model: model, Period: p, PeriodStart: info.Start}, info.Key, d, model)
		}
	}
}

func (b *Batch) addTo(k Key, periodKey string, d Counters, model string) {
	r := b.rows[k]
	if r == nil {
		r = &Row{Key: k, PeriodKey: periodKey, Models: []string{}}
		b.rows[k] = r
	}
	r.Counters.Add(d)
	if model != "" && !slices.Contains(r.Models, model) {
		r.Models = append(r.Models, model)
	}
}

// Len is the number of aggregate rows touched.
func (b *Batch) Len() int { return len(b.rows) }

// Rows returns the accumulated rows in a stable order, models sorted.
func (b *Batch) Rows() []*Row {
	out := make([]*Row, 0, len(b.rows))
	for _, r := range b.rows {
		slices.Sort(r.Models)
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y *Row) int {
		return strings.Compare(sortKey(x.Key), sortKey(y.Key))
	})
	return out
}

func sortKey(k Key) string {
	return strings.Join([]string{k.Scope, k.UserID, k.Model, string(k.Period), padInt(k.PeriodStart), padInt(int64(k.Shard))}, "|")
}

func padInt(v int64) string {
	s := make([]byte, 0, 20)
	for i := int64(1_000_000_000_000_000); i > 0; i /= 10 {
		s = append(s, byte('0'+(v/i)%10))
	}
	return string(s)
}

// MergeModels keeps existing models first, then adds new ones in sorted
// order, up to MaxModels.
func MergeModels(existing, added []string) []string {
	out := slices.Clone(existing)
	add := slices.Sorted(slices.Values(added))
	for _, m := range add {
		if len(out) >= MaxModels {
			break
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// FinePercentile is the p-th percentile (0 < p ≤ 100) of fine bucket counts:
// the upper bound of the first bucket whose cumulative count reaches
// ceil(p·n/100), so it never overstates by more than one bucket (~25 %) and
// never understates; nil without samples (a model that never streamed has
// no TTFT) and when that bucket is the last (beyond FineBounds, ~12 min). The TS twin is finePercentile in
// packages/convex/src/lib/window.ts; the contract pins both.
func FinePercentile(b [NumFine]int64, p int64) *int64 {
	var total int64
	for _, n := range b {
		total += n
	}
	if total == 0 {
		return nil
	}
	rank := (p*total + 99) / 100
	var cum int64
	for i, n := range b {
		cum += n
		if cum >= rank {
			if i < len(FineBounds) {
				v := FineBounds[i]
				return &v
			}
			return nil
		}
	}
	return nil
}
