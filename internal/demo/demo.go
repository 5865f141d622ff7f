// Package demo fills a store with a realistic month of made-up traffic, for
// demos, screenshots and the portal's end-to-end tests.
//
// Generate creates users (store.EnsureUser) and writes the same rows the
// gateway writes for each call (store.Usage, store.RequestLog,
// store.Activity; see internal/gateway/record.go) through the real ingest
// path, store.Ingest, in batches of at most MaxBatchRows rows. Costs use the
// simulator's price table (openroutertest.DefaultModels) and are computed
// exactly with money.Price.Cost, the way the simulator bills.
//
// The traffic has a daily and a weekly rhythm (quiet nights and weekends),
// a slight growth over the month, a few heavy users, cached and reasoning
// tokens, and realistic failures: rate limits, upstream 5xx, moderation,
// insufficient credits, mid-stream errors and client disconnects (499).
//
// It is deterministic: the same Options (Seed and Now included) produce the
// same rows with the same keys, so a second run ingests nothing new (every
// row is a duplicate). SeedOps adds what the jobs would have stored beside
// the traffic (alerts, a health check, reports, a forecast) on a store that
// implements the jobs' operations.
package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/openrouter/openroutertest"
)

// MaxBatchRows is the most rows one Ingest call gets (the Convex ingest bound).
const MaxBatchRows = 100

// Options says how much traffic to make. Zero values take the defaults.
type Options struct {
	Seed     uint64         // random seed; the same seed makes the same data
	Now      time.Time      // end of the history (default time.Now())
	Days     int            // length of the history (default 30)
	Users    int            // number of users (default 40)
	Requests int            // total requests, roughly (default 6000)
	Location *time.Location // time zone of the daily rhythm (default UTC)
	// BatchRows is the most rows per Ingest call (default and max MaxBatchRows).
	BatchRows int
}

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	if o.Days < 0 || o.Days > 400 {
		errs = append(errs, errors.New("demo: Days must be in [1, 400]"))
	}
	if o.Users < 0 || o.Users > 10_000 {
		errs = append(errs, errors.New("demo: Users must be in [1, 10000]"))
	}
	if o.Requests < 0 || o.Requests > 2_000_000 {
		errs = append(errs, errors.New("demo: Requests must be in [1, 2000000]"))
	}
	if o.BatchRows < 0 || o.BatchRows > MaxBatchRows {
		errs = append(errs, fmt.Errorf("demo: BatchRows must be in [3, %d]", MaxBatchRows))
	}
	if o.BatchRows > 0 && o.BatchRows < 3 {
		errs = append(errs, errors.New("demo: BatchRows must be at least 3 (one request's rows)"))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Days == 0 {
		o.Days = 30
	}
	if o.Users == 0 {
		o.Users = 40
	}
	if o.Requests == 0 {
		o.Requests = 6000
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.BatchRows == 0 {
		o.BatchRows = MaxBatchRows
	}
	return o
}

// Summary says what Generate made and what the store took.
type Summary struct {
	Users      int          `json:"users"`
	UserIDs    []string     `json:"userIds"`
	Models     []string     `json:"models"`
	Requests   int          `json:"requests"`
	Failed     int          `json:"failed"`
	Tokens     int64        `json:"tokens"`
	Cost       money.Nanos  `json:"costNanoUsd"`
	Batches    int          `json:"batches"`
	From       int64        `json:"from"` // ms, first request
	To         int64        `json:"to"`   // ms, last request
	Inserted   store.Counts `json:"inserted"`
	Duplicates store.Counts `json:"duplicates"`
}

// Generate writes the demo traffic into s. It stops at the first error,
// returning what was written so far (rows are idempotent: run it again).
func Generate(ctx context.Context, s store.Store, opts Options) (Summary, error) {
	if err := opts.Validate(); err != nil {
		return Summary{}, err
	}
	o := opts.withDefaults()
	g := newGenerator(o)
	var sum Summary
	for i, p := range g.people {
		u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: p.externalID, Name: p.name, Email: p.email})
		if err != nil {
			return sum, fmt.Errorf("demo: ensure user %d: %w", i, err)
		}
		g.people[i].id = u.ID
		sum.UserIDs = append(sum.UserIDs, u.ID)
	}
	sum.Users = len(g.people)
	for _, m := range g.models {
		sum.Models = append(sum.Models, m.ID)
	}

	var b store.Batch
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		res, err := s.Ingest(ctx, b)
		if err != nil {
			return fmt.Errorf("demo: ingest batch %d: %w", sum.Batches, err)
		}
		sum.Batches++
		addCounts(&sum.Inserted, res.Inserted)
		addCounts(&sum.Duplicates, res.Duplicates)
		b = store.Batch{}
		return nil
	}
	for _, ts := range g.timestamps() {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		call := g.call(ts)
		if b.Len()+call.Len() > o.BatchRows {
			if err := flush(); err != nil {
				return sum, err
			}
		}
		b.Append(call)
		sum.Requests++
		if call.RequestLogs[0].Status == store.StatusError {
			sum.Failed++
		}
		for _, u := range call.Usage {
			sum.Tokens += u.TotalTokens
			sum.Cost += u.Cost
		}
		if sum.From == 0 {
			sum.From = ts
		}
		sum.To = ts
	}
	return sum, flush()
}

func addCounts(dst *store.Counts, c store.Counts) {
	dst.Usage += c.Usage
	dst.RequestLogs += c.RequestLogs
	dst.Activity += c.Activity
}

// person is a demo user.
type person struct {
	externalID, name, email string
	id                      string // store id, set by Generate
	weight                  float64
	agent                   string
	ip                      string
	favourite               int // index of the model they use most
}

type generator struct {
	o       Options
	rng     *rand.Rand
	people  []person
	models  []openroutertest.Model
	mweight []float64
	seq     int
}

func newGenerator(o Options) *generator {
	g := &generator{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x6c6c6d6d65746572))}
	g.models = openroutertest.DefaultModels()
	// Popularity of the simulator's models, in its order; unknown extra
	// models (if the table grows) get a small share.
	pop := map[string]float64{
		"openai/gpt-4o-mini": 40, "anthropic/claude-3.5-sonnet": 16, "google/gemini-flash-1.5": 20,
		"mistralai/mistral-nemo": 9, "perplexity/sonar-reasoning": 5, "meta-llama/llama-3.1-8b-instruct:free": 10,
	}
	for _, m := range g.models {
		w, ok := pop[m.ID]
		if !ok {
			w = 3
		}
		g.mweight = append(g.mweight, w)
	}
	for i := range o.Users {
		first := firstNames[g.rng.IntN(len(firstNames))]
		last := lastNames[g.rng.IntN(len(lastNames))]
		g.people = append(g.people, person{
			externalID: fmt.Sprintf("demo-user-%03d", i+1),
			name:       first + " " + last,
			email:      fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), i+1),
			// Zipf-like: a few users make most of the traffic.
			weight:    1 / math.Pow(float64(i+1), 0.9),
			agent:     userAgents[g.rng.IntN(len(userAgents))],
			ip:        fmt.Sprintf("203.0.113.%d", 1+g.rng.IntN(254)),
			favourite: pick(g.rng, g.mweight),
		})
	}
	return g
}

// timestamps spreads about o.Requests request start times over the history
// with a daily and a weekly rhythm and a slight growth, ascending.
func (g *generator) timestamps() []int64 {
	end := g.o.Now.Truncate(time.Minute)
	start := end.Add(-time.Duration(g.o.Days) * 24 * time.Hour)
	hours := g.o.Days * 24
	intensity := make([]float64, hours)
	var total float64
	for h := range hours {
		t := start.Add(time.Duration(h) * time.Hour).In(g.o.Location)
		v := hourShape[t.Hour()] * dayShape[t.Weekday()] * (0.8 + 0.4*float64(h)/float64(hours))
		intensity[h] = v
		total += v
	}
	var out []int64
	for h, v := range intensity {
		want := float64(g.o.Requests) * v / total
		n := int(want)
		if g.rng.Float64() < want-float64(n) {
			n++
		}
		hourStart := start.Add(time.Duration(h) * time.Hour).UnixMilli()
		offs := make([]int64, n)
		for i := range offs {
			offs[i] = g.rng.Int64N(int64(time.Hour / time.Millisecond))
		}
		slices.Sort(offs)
		for _, off := range offs {
			if ts := hourStart + off; ts < end.UnixMilli() {
				out = append(out, ts)
			}
		}
	}
	return out
}

// Relative traffic by local hour and by weekday.
var (
	hourShape = [24]float64{0.15, 0.1, 0.08, 0.07, 0.08, 0.12, 0.25, 0.45, 0.75, 0.95, 1, 1,
		0.9, 0.95, 1, 1, 0.95, 0.85, 0.7, 0.6, 0.55, 0.45, 0.35, 0.22}
	dayShape = [7]float64{0.45, 1, 1.05, 1.05, 1, 0.9, 0.5} // Sunday first
)

func pick(r *rand.Rand, weights []float64) int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	x := r.Float64() * sum
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// logNormal draws a positive value with the given median and spread.
func logNormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}
