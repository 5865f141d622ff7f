package demo

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/jobs"
	"llmmeter/openrouter/openroutertest"
)

// recorder is a store that keeps every batch and hands out stable user ids.
type recorder struct {
	store.Store // nil: only the methods below are called
	batches     []store.Batch
	users       map[string]string
}

func (r *recorder) EnsureUser(_ context.Context, in store.EnsureUserInput) (store.User, bool, error) {
	if r.users == nil {
		r.users = map[string]string{}
	}
	id, ok := r.users[in.ExternalID]
	if !ok {
		id = "u_" + in.ExternalID
		r.users[in.ExternalID] = id
	}
	return store.User{ID: id, ExternalID: in.ExternalID, Name: in.Name, Email: in.Email}, !ok, nil
}

func (r *recorder) Ingest(_ context.Context, b store.Batch) (store.IngestResult, error) {
	if err := b.Validate(); err != nil {
		return store.IngestResult{}, err
	}
	r.batches = append(r.batches, b)
	return store.IngestResult{Inserted: store.Counts{Usage: len(b.Usage), RequestLogs: len(b.RequestLogs), Activity: len(b.Activity)}}, nil
}

var testNow = time.Date(2025, 3, 31, 15, 4, 0, 0, time.UTC)

func small() Options {
	return Options{Seed: 7, Now: testNow, Days: 30, Users: 12, Requests: 1500}
}

func TestGenerateRows(t *testing.T) {
	rec := &recorder{}
	sum, err := Generate(context.Background(), rec, small())
	if err != nil {
		t.Fatal(err)
	}
	prices := map[string]openroutertest.Model{}
	for _, m := range openroutertest.DefaultModels() {
		prices[m.ID] = m
	}
	var (
		requests, failed, usage, cachedRows, reasoningRows int
		total                                              money.Nanos
		codes                                              = map[int]int{}
		perWeekday                                         [7]int
	)
	from, to := testNow.Add(-30*24*time.Hour).UnixMilli(), testNow.UnixMilli()
	for i, b := range rec.batches {
		if b.Len() > MaxBatchRows {
			t.Fatalf("batch %d has %d rows", i, b.Len())
		}
		for _, l := range b.RequestLogs {
			requests++
			codes[l.StatusCode]++
			if l.Status == store.StatusError {
				failed++
				if l.ErrorMessage == "" || l.ErrorType == "" {
					t.Errorf("error row %s without type or message", l.RequestID)
				}
			}
			if l.Timestamp < from || l.Timestamp >= to {
				t.Errorf("timestamp %d outside the month", l.Timestamp)
			}
			perWeekday[time.UnixMilli(l.Timestamp).UTC().Weekday()]++
		}
		for _, u := range b.Usage {
			usage++
			m, ok := prices[u.Model]
			if !ok {
				t.Fatalf("unknown model %q", u.Model)
			}
			if want := cost(m, u.PromptTokens, u.CachedTokens, u.CompletionTokens); u.Cost != want {
				t.Errorf("%s: cost %d, want %d", u.GenerationID, u.Cost, want)
			}
			if u.TotalTokens != u.PromptTokens+u.CompletionTokens || u.ReasoningTokens > u.CompletionTokens || u.CachedTokens > u.PromptTokens {
				t.Errorf("%s: inconsistent tokens %+v", u.GenerationID, u)
			}
			if u.CachedTokens > 0 {
				cachedRows++
			}
			if u.ReasoningTokens > 0 {
				reasoningRows++
			}
			total += u.Cost
		}
		if len(b.Activity) != len(b.RequestLogs) {
			t.Errorf("batch %d: %d activity rows for %d requests", i, len(b.Activity), len(b.RequestLogs))
		}
	}
	if requests != sum.Requests || failed != sum.Failed || total != sum.Cost {
		t.Errorf("summary %+v disagrees with rows: requests %d failed %d cost %d", sum, requests, failed, total)
	}
	if requests < 1300 || requests > 1700 {
		t.Errorf("%d requests, want about 1500", requests)
	}
	if rate := float64(failed) / float64(requests); rate < 0.02 || rate > 0.09 {
		t.Errorf("failure rate %.3f, want a few percent", rate)
	}
	for _, code := range []int{200, 429, 499} {
		if codes[code] == 0 {
			t.Errorf("no request with status %d (%v)", code, codes)
		}
	}
	if cachedRows == 0 || reasoningRows == 0 {
		t.Errorf("cached rows %d, reasoning rows %d: want both", cachedRows, reasoningRows)
	}
	// Weekends are quieter than weekdays.
	if perWeekday[time.Sunday]*3/2 > perWeekday[time.Wednesday] {
		t.Errorf("no weekly rhythm: %v", perWeekday)
	}
	if sum.Users != 12 || len(sum.UserIDs) != 12 || len(sum.Models) == 0 {
		t.Errorf("summary users %d ids %d models %v", sum.Users, len(sum.UserIDs), sum.Models)
	}
}

func TestDeterministic(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	if _, err := Generate(context.Background(), a, small()); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), b, small()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.batches, b.batches) {
		t.Fatal("the same options made different rows")
	}
	c := &recorder{}
	o := small()
	o.Seed = 8
	if _, err := Generate(context.Background(), c, o); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.batches, c.batches) {
		t.Fatal("another seed made the same rows")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"defaults", Options{}, true},                          // zero values take defaults
		{"negative days", Options{Days: -1}, false},            // nonsense
		{"batch too large", Options{BatchRows: 101}, false},    // over the ingest bound
		{"batch too small", Options{BatchRows: 2}, false},      // a request's rows must fit
		{"too many users", Options{Users: 20_000}, false},      // bounded
		{"every problem", Options{Days: -1, Users: -1}, false}, // joined
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.o.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}

// TestIngestIntoSQLite runs the real ingest path twice: the second run
// stores nothing new.
func TestIngestIntoSQLite(t *testing.T) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "llmmeter.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := Options{Seed: 1, Now: testNow, Days: 7, Users: 5, Requests: 300, BatchRows: 30}
	first, err := Generate(ctx, s, o)
	if err != nil {
		t.Fatal(err)
	}
	if first.Inserted.RequestLogs != first.Requests || first.Inserted.Usage == 0 || first.Duplicates != (store.Counts{}) {
		t.Errorf("first run: %+v", first)
	}
	second, err := Generate(ctx, s, o)
	if err != nil {
		t.Fatal(err)
	}
	if second.Inserted != (store.Counts{}) || second.Duplicates != first.Inserted {
		t.Errorf("second run inserted %+v, duplicates %+v; want none and %+v", second.Inserted, second.Duplicates, first.Inserted)
	}
	if !reflect.DeepEqual(first.UserIDs, second.UserIDs) {
		t.Error("users were created twice")
	}
}

func TestSeedOps(t *testing.T) {
	ctx := context.Background()
	// A store without the jobs' operations gets nothing, without error.
	if got, err := SeedOps(ctx, &recorder{}, Summary{}, testNow); err != nil || got != (OpsSummary{}) {
		t.Fatalf("recorder: %+v %v", got, err)
	}
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "llmmeter.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum, err := Generate(ctx, s, Options{Seed: 3, Now: testNow, Days: 3, Users: 3, Requests: 60})
	if err != nil {
		t.Fatal(err)
	}
	got, err := SeedOps(ctx, s, sum, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := OpsSummary{Alerts: 4, Resolved: 1, Health: true, Reports: 3, Forecasts: 1}
	if got != want {
		t.Errorf("SeedOps = %+v, want %+v", got, want)
	}
}

// opsRecorder keeps the reports and forecasts SeedOps stores.
type opsRecorder struct {
	reports   []jobs.Report
	forecasts []jobs.Forecast
}

func (o *opsRecorder) StoreReport(_ context.Context, r jobs.Report) ([]jobs.ReportDelivery, error) {
	o.reports = append(o.reports, r)
	return nil, nil
}

func (o *opsRecorder) StoreForecasts(_ context.Context, _ time.Time, rows []jobs.Forecast) error {
	o.forecasts = append(o.forecasts, rows...)
	return nil
}

// TestSeedOpsInTheReportingZone: at 03:00 UTC on 1 December it is still
// 30 November in New York, so the demo's daily reports are of 29, 28 and
// 27 November, each made at 00:10 New York time the day after, and its
// forecast is November's, as the jobs running in that zone would write.
func TestSeedOpsInTheReportingZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC).In(ny)
	o := &opsRecorder{}
	if _, err := SeedOps(context.Background(), o, Summary{Requests: 1, Cost: 1, From: now.Add(-time.Hour).UnixMilli(), To: now.UnixMilli()}, now); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range o.reports {
		keys = append(keys, r.PeriodKey)
	}
	if !reflect.DeepEqual(keys, []string{"2026-11-29", "2026-11-28", "2026-11-27"}) {
		t.Errorf("report days %v", keys)
	}
	if want := time.Date(2026, 11, 30, 0, 10, 0, 0, ny).UnixMilli(); len(o.reports) == 0 || o.reports[0].CreatedAt != want {
		t.Errorf("first report made at %v, want 00:10 on 30 Nov in New York", o.reports)
	}
	if len(o.forecasts) != 1 || o.forecasts[0].Month != "2026-11" {
		t.Errorf("forecasts %+v, want November's", o.forecasts)
	}
}
