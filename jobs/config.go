package jobs

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"llmmeter/internal/money"
	"llmmeter/internal/signature"
)

// Job names, as used in schedules, leases, jobRuns and the CLI.
const (
	JobFold         = "fold"
	JobQuotaReset   = "quota_reset"
	JobAlerts       = "alerts"
	JobHealth       = "health"
	JobReportDaily  = "report_daily"
	JobReportWeekly = "report_weekly"
	JobReportRetry  = "report_retry"
	JobForecast     = "forecast"
	JobBackfill     = "backfill"
)

// DefaultSchedules are the standard 5-field cron specs of the jobs, in the
// reporting time zone.
var DefaultSchedules = map[string]string{
	JobFold:         "@every 2s",    // the live views trail ingest by a few seconds
	JobQuotaReset:   "*/5 * * * *",  // boundaries are found from resetDate
	JobAlerts:       "* * * * *",    // every minute
	JobHealth:       "* * * * *",    // every minute
	JobReportDaily:  "15 0 * * *",   // after local midnight
	JobReportWeekly: "30 0 * * 1",   // Monday after local midnight
	JobReportRetry:  "*/5 * * * *",  // reports a webhook refused, to that webhook (reportretry.go)
	JobForecast:     "20 0 * * *",   // daily
	JobBackfill:     "*/10 * * * *", // every 10 minutes
}

// Config is every setting of the jobs. Env var names are in the field
// comments; ConfigFromEnv reads them, DefaultConfig has the defaults.
type Config struct {
	Enabled    bool              // JOBS_ENABLED (default true)
	Holder     string            // JOBS_HOLDER lease holder id (default hostname:pid)
	LeaseTTL   time.Duration     // JOBS_LEASE_TTL (default 2m; 1s..1h)
	MaxCatchUp int               // JOBS_MAX_CATCHUP missed windows run on start (default 48)
	Schedules  map[string]string // JOBS_SCHEDULE_<NAME>, e.g. JOBS_SCHEDULE_ROLLUP="5 * * * *"

	QuotaThresholds      []int         // ALERT_QUOTA_THRESHOLDS percent of each quota (default 80,90,100)
	DailyBudgetNanoUsd   int64         // ALERT_DAILY_BUDGET_USD system daily budget (default 0 = off)
	UserDailyBudgetNano  int64         // ALERT_USER_DAILY_BUDGET_USD per-user daily budget (default 0 = off)
	ErrorRate            float64       // ALERT_ERROR_RATE fraction (default 0.05)
	ErrorRateWindow      time.Duration // ALERT_ERROR_RATE_WINDOW sliding window (default 15m)
	ErrorRateMinRequests int64         // ALERT_ERROR_RATE_MIN_REQUESTS (default 20)
	P95LatencyMs         int64         // ALERT_P95_LATENCY_MS (default 30000; 0 = off)
	KeyBalanceMinNanoUsd int64         // ALERT_KEY_BALANCE_MIN_USD (default 5)
	OutboxMaxDepth       int           // ALERT_OUTBOX_MAX_DEPTH (default 1000)
	OutboxMaxAge         time.Duration // ALERT_OUTBOX_MAX_AGE (default 10m)
	RepeatInterval       time.Duration // ALERT_REPEAT_INTERVAL cooldown between notifications of one open alert (default 4h)
	JobFailureRuns       int           // ALERT_JOB_FAILURES consecutive failed runs of a job that alert (default 3; twice as many: critical)

	WebhookURLs       []string      // ALERT_WEBHOOK_URLS comma-separated (default none)
	WebhookSecret     string        // ALERT_WEBHOOK_SECRET HMAC key of X-Llmmeter-Signature (secret)
	WebhookFormat     string        // ALERT_WEBHOOK_FORMAT slack | json (default slack)
	WebhookMaxRetries int           // ALERT_WEBHOOK_MAX_RETRIES (default 3)
	WebhookTimeout    time.Duration // ALERT_WEBHOOK_TIMEOUT per attempt (default 10s)

	BackfillMinAge   time.Duration // BACKFILL_MIN_AGE rows younger than this wait (default 1m)
	BackfillLookback time.Duration // BACKFILL_LOOKBACK (default 168h)
	BackfillBatch    int           // BACKFILL_BATCH generation look-ups per run (default 200)

	ForecastHistoryDays int // FORECAST_HISTORY_DAYS (default 56)
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Enabled: true, Holder: fmt.Sprintf("%s:%d", host, os.Getpid()), LeaseTTL: 2 * time.Minute, MaxCatchUp: 48,
		Schedules:       maps(DefaultSchedules),
		QuotaThresholds: []int{80, 90, 100}, ErrorRate: 0.05, ErrorRateWindow: 15 * time.Minute, ErrorRateMinRequests: 20,
		P95LatencyMs: 30000, KeyBalanceMinNanoUsd: int64(5 * money.NanosPerUSD), OutboxMaxDepth: 1000, OutboxMaxAge: 10 * time.Minute,
		RepeatInterval: 4 * time.Hour, JobFailureRuns: 3, WebhookFormat: "slack", WebhookMaxRetries: 3, WebhookTimeout: 10 * time.Second,
		BackfillMinAge: time.Minute, BackfillLookback: 7 * 24 * time.Hour, BackfillBatch: 200, ForecastHistoryDays: 56,
	}
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ConfigFromEnv reads the settings over DefaultConfig; errors name the
// variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			*dst = d
		}
	}
	integer := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: not an integer", name))
			}
			*dst = n
		}
	}
	usd := func(name string, dst *int64) {
		if v := getenv(name); v != "" {
			n, err := money.ParseUSD(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			*dst = int64(n)
		}
	}
	if v := getenv("JOBS_ENABLED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("JOBS_ENABLED: not a boolean"))
		}
		c.Enabled = b
	}
	str("JOBS_HOLDER", &c.Holder)
	dur("JOBS_LEASE_TTL", &c.LeaseTTL)
	integer("JOBS_MAX_CATCHUP", &c.MaxCatchUp)
	for name := range DefaultSchedules {
		if v := getenv("JOBS_SCHEDULE_" + strings.ToUpper(name)); v != "" {
			c.Schedules[name] = v
		}
	}
	if v := getenv("ALERT_QUOTA_THRESHOLDS"); v != "" {
		c.QuotaThresholds = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				errs = append(errs, fmt.Errorf("ALERT_QUOTA_THRESHOLDS: %q is not an integer", f))
			}
			c.QuotaThresholds = append(c.QuotaThresholds, n)
		}
	}
	usd("ALERT_DAILY_BUDGET_USD", &c.DailyBudgetNanoUsd)
	usd("ALERT_USER_DAILY_BUDGET_USD", &c.UserDailyBudgetNano)
	if v := getenv("ALERT_ERROR_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("ALERT_ERROR_RATE: not a number"))
		}
		c.ErrorRate = f
	}
	dur("ALERT_ERROR_RATE_WINDOW", &c.ErrorRateWindow)
	var minReq int
	minReq = int(c.ErrorRateMinRequests)
	integer("ALERT_ERROR_RATE_MIN_REQUESTS", &minReq)
	c.ErrorRateMinRequests = int64(minReq)
	p95 := int(c.P95LatencyMs)
	integer("ALERT_P95_LATENCY_MS", &p95)
	c.P95LatencyMs = int64(p95)
	usd("ALERT_KEY_BALANCE_MIN_USD", &c.KeyBalanceMinNanoUsd)
	integer("ALERT_OUTBOX_MAX_DEPTH", &c.OutboxMaxDepth)
	dur("ALERT_OUTBOX_MAX_AGE", &c.OutboxMaxAge)
	dur("ALERT_REPEAT_INTERVAL", &c.RepeatInterval)
	integer("ALERT_JOB_FAILURES", &c.JobFailureRuns)
	if v := getenv("ALERT_WEBHOOK_URLS"); v != "" {
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				c.WebhookURLs = append(c.WebhookURLs, u)
			}
		}
	}
	str("ALERT_WEBHOOK_SECRET", &c.WebhookSecret)
	str("ALERT_WEBHOOK_FORMAT", &c.WebhookFormat)
	integer("ALERT_WEBHOOK_MAX_RETRIES", &c.WebhookMaxRetries)
	dur("ALERT_WEBHOOK_TIMEOUT", &c.WebhookTimeout)
	dur("BACKFILL_MIN_AGE", &c.BackfillMinAge)
	dur("BACKFILL_LOOKBACK", &c.BackfillLookback)
	integer("BACKFILL_BATCH", &c.BackfillBatch)
	integer("FORECAST_HISTORY_DAYS", &c.ForecastHistoryDays)
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// cronParser parses standard 5-field specs and descriptors (@hourly).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSchedule parses spec and refuses one that never fires, such as
// "0 0 30 2 *" (February 30th): robfig/cron parses it, and its Next then
// returns the zero time, on which the scheduler's search for the latest
// schedule time looped for ever, renewing the job's lease as it spun.
func parseSchedule(spec string) (cron.Schedule, error) {
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return nil, err
	}
	if sched.Next(time.Now()).IsZero() {
		return nil, errors.New("never fires: no date matches it")
	}
	return sched, nil
}

// Validate reports every problem at once, naming the variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Holder == "" {
		bad("JOBS_HOLDER: must not be empty")
	}
	if c.LeaseTTL < time.Second || c.LeaseTTL > time.Hour {
		bad("JOBS_LEASE_TTL: must be between 1s and 1h")
	}
	if c.MaxCatchUp < 1 || c.MaxCatchUp > 1000 {
		bad("JOBS_MAX_CATCHUP: must be between 1 and 1000")
	}
	names := make([]string, 0, len(c.Schedules))
	for n := range c.Schedules {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if _, known := DefaultSchedules[n]; !known {
			bad("JOBS_SCHEDULE_%s: unknown job", strings.ToUpper(n))
			continue
		}
		if _, err := parseSchedule(c.Schedules[n]); err != nil {
			bad("JOBS_SCHEDULE_%s: %v", strings.ToUpper(n), err)
		}
	}
	for _, p := range c.QuotaThresholds {
		if p <= 0 || p > 1000 {
			bad("ALERT_QUOTA_THRESHOLDS: %d is not a percentage in 1..1000", p)
		}
	}
	if c.DailyBudgetNanoUsd < 0 || c.UserDailyBudgetNano < 0 || c.KeyBalanceMinNanoUsd < 0 {
		bad("ALERT_*_USD: must not be negative")
	}
	if c.ErrorRate <= 0 || c.ErrorRate > 1 {
		bad("ALERT_ERROR_RATE: must be in (0, 1]")
	}
	if c.ErrorRateWindow < time.Minute || c.ErrorRateWindow > 24*time.Hour {
		bad("ALERT_ERROR_RATE_WINDOW: must be between 1m and 24h")
	}
	if c.ErrorRateMinRequests < 1 {
		bad("ALERT_ERROR_RATE_MIN_REQUESTS: must be at least 1")
	}
	if c.P95LatencyMs < 0 {
		bad("ALERT_P95_LATENCY_MS: must not be negative")
	}
	if c.OutboxMaxDepth < 1 || c.OutboxMaxAge <= 0 {
		bad("ALERT_OUTBOX_MAX_DEPTH and ALERT_OUTBOX_MAX_AGE: must be positive")
	}
	if c.RepeatInterval < time.Minute {
		bad("ALERT_REPEAT_INTERVAL: must be at least 1m")
	}
	if c.JobFailureRuns < 1 || c.JobFailureRuns > 100 {
		bad("ALERT_JOB_FAILURES: must be between 1 and 100")
	}
	for i, u := range c.WebhookURLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			bad("ALERT_WEBHOOK_URLS[%d]: must be an http(s) URL", i)
		}
	}
	if c.WebhookSecret != "" && len(c.WebhookSecret) < signature.MinSecretBytes {
		// A receiver that checks the signature trusts it as much as the key
		// is hard to guess; the same floor as the Convex ingest secret.
		bad("ALERT_WEBHOOK_SECRET: must be at least %d bytes", signature.MinSecretBytes)
	}
	if c.WebhookFormat != "slack" && c.WebhookFormat != "json" {
		bad("ALERT_WEBHOOK_FORMAT: must be slack or json")
	}
	if c.WebhookMaxRetries < 0 || c.WebhookMaxRetries > 10 {
		bad("ALERT_WEBHOOK_MAX_RETRIES: must be between 0 and 10")
	}
	if c.WebhookTimeout <= 0 {
		bad("ALERT_WEBHOOK_TIMEOUT: must be positive")
	}
	if c.BackfillMinAge < 0 || c.BackfillLookback <= 0 || c.BackfillBatch < 1 {
		bad("BACKFILL_MIN_AGE, BACKFILL_LOOKBACK, BACKFILL_BATCH: must be positive")
	}
	if c.ForecastHistoryDays < 14 || c.ForecastHistoryDays > 366 {
		bad("FORECAST_HISTORY_DAYS: must be between 14 and 366")
	}
	return errors.Join(errs...)
}

// String prints the config with secrets as <secret> (webhook URLs carry
// tokens in their paths, so only their hosts are shown).
func (c Config) String() string {
	hooks := make([]string, len(c.WebhookURLs))
	for i, u := range c.WebhookURLs {
		hooks[i] = redactURL(u)
	}
	secret := ""
	if c.WebhookSecret != "" {
		secret = "<secret>"
	}
	return fmt.Sprintf("jobs.Config{Enabled:%t Holder:%q LeaseTTL:%s MaxCatchUp:%d Schedules:%v QuotaThresholds:%v DailyBudgetNanoUsd:%d UserDailyBudgetNano:%d ErrorRate:%g ErrorRateWindow:%s P95LatencyMs:%d KeyBalanceMinNanoUsd:%d OutboxMaxDepth:%d OutboxMaxAge:%s RepeatInterval:%s WebhookURLs:%v WebhookSecret:%s WebhookFormat:%s}",
		c.Enabled, c.Holder, c.LeaseTTL, c.MaxCatchUp, c.Schedules, c.QuotaThresholds, c.DailyBudgetNanoUsd, c.UserDailyBudgetNano,
		c.ErrorRate, c.ErrorRateWindow, c.P95LatencyMs, c.KeyBalanceMinNanoUsd, c.OutboxMaxDepth, c.OutboxMaxAge, c.RepeatInterval, hooks, secret, c.WebhookFormat)
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return c.String() }

// redactURL keeps scheme and host: Slack-style webhook URLs are secrets.
func redactURL(raw string) string {
	p, err := url.Parse(raw)
	if err != nil || p.Host == "" {
		return "<secret>"
	}
	return p.Scheme + "://" + p.Host + "/<secret>"
}
