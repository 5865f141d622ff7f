package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/store"
)

// ReportDelivery is store.ReportDelivery (the engines store it).
type ReportDelivery = store.ReportDelivery

// Delivery statuses.
const (
	DeliveryDelivered = store.DeliveryDelivered
	DeliveryFailed    = store.DeliveryFailed
)

// ReportSender sends each stored report to the webhooks, as a
// Slack-compatible summary (ReportSummary), signed and retried as alert
// notifications are (Webhooks), and records the outcome per webhook with
// the report. Logs name the webhook's host and the report, never the
// message text.
type ReportSender struct {
	Hooks *Webhooks
	Store Store
	Now   func() time.Time // default time.Now
	Log   zerolog.Logger
}

// ErrDeliveryBusy: another run is sending the report now (it holds the
// report's delivery lease); this one sent it nowhere.
var ErrDeliveryBusy = errors.New("its deliveries are being sent by another run")

// deliveryLeaseTTL is the life of a report's delivery lease, renewed
// every third of it while the run sends (holdLease).
const deliveryLeaseTTL = 2 * time.Minute

// deliveryLease names the lease of the deliveries of one report. The
// report jobs (a scheduled run, or an operator's "jobs run report_daily")
// and report_retry hold different job leases, so they could run at once;
// each holds this one while it reads a report's deliveries, sends it and
// records the outcomes, so that one webhook is never sent one report by
// both and neither overwrites the other's outcomes with its stale ones.
func deliveryLease(kind, periodKey string) string {
	return "report_delivery:" + kind + ":" + periodKey
}

// withReport runs fn holding the delivery lease of the report of kind and
// periodKey, under a holder id of its own (two runs of one process are
// kept apart too); ErrDeliveryBusy when another run holds it.
func (s *ReportSender) withReport(ctx context.Context, kind, periodKey string, fn func(context.Context) error) error {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	l := Lease{Job: deliveryLease(kind, periodKey), Holder: "report-sender-" + hex.EncodeToString(id[:]), TTL: deliveryLeaseTTL}
	err := holdLease(ctx, s.Store, l, s.now, s.Log, fn)
	if errors.Is(err, ErrLeaseHeld) {
		return ErrDeliveryBusy
	}
	return err
}

// retryUntil is the retry deadline of deliveries: the end of the latest
// retry window (retryFor from its first try) of a failed delivery not
// given up, or 0 when none is left; a delivery recorded before retries
// (no FirstAt) is never retried. It is recorded with the deliveries, so
// that report_retry finds the report by it.
func retryUntil(ds []ReportDelivery) int64 {
	var until int64
	for _, d := range ds {
		end := d.FirstAt + retryFor.Milliseconds()
		if d.Status == DeliveryFailed && d.FirstAt != 0 && d.At < end {
			until = max(until, end)
		}
	}
	return until
}

// Send delivers rep to every webhook but those that took it already (a
// rerun's report: prior, the deliveries recorded with it, whose delivered
// ones are kept as they are) and records the outcomes with their retry
// deadline; it fails if a webhook still failed after retries (the outcome
// is recorded first). The caller holds the report's delivery lease
// (withReport) and read prior under it.
func (s *ReportSender) Send(ctx context.Context, rep Report, prior []ReportDelivery) (Counts, error) {
	body, err := json.Marshal(ReportSummary(rep))
	if err != nil {
		return nil, fmt.Errorf("report summary: %w", err)
	}
	counts := Counts{}
	out := make([]ReportDelivery, 0, len(s.Hooks.URLs))
	var errs []error
	for _, u := range s.Hooks.URLs {
		if i := slices.IndexFunc(prior, func(d ReportDelivery) bool { return d.Target == hookTarget(u) && d.Status == DeliveryDelivered }); i >= 0 {
			counts["alreadyDelivered"]++
			out = append(out, prior[i])
			continue
		}
		d := s.deliver(ctx, rep.Kind+" "+rep.PeriodKey, u, body, ReportDelivery{Target: hookTarget(u)})
		if d.Status == DeliveryFailed {
			errs = append(errs, errors.New(d.Error))
		}
		counts[d.Status]++
		out = append(out, d)
	}
	if err := s.Store.RecordReportDelivery(ctx, rep.Kind, rep.PeriodKey, out, retryUntil(out)); err != nil {
		errs = append(errs, fmt.Errorf("record report delivery: %w", err))
	}
	return counts, errors.Join(errs...)
}

// deliver posts body to the webhook u and returns d updated with the
// outcome: attempts added, At now, FirstAt set on the first try.
func (s *ReportSender) deliver(ctx context.Context, report, u string, body []byte, d ReportDelivery) ReportDelivery {
	attempts, err := s.Hooks.post(ctx, u, body)
	d.Attempts += attempts
	d.At = s.now().UnixMilli()
	if d.FirstAt == 0 {
		d.FirstAt = d.At
	}
	d.Status, d.Error = DeliveryDelivered, ""
	if err != nil {
		d.Status, d.Error = DeliveryFailed, truncate(err.Error(), 300)
		s.Log.Warn().Err(err).Str("report", report).Int("attempts", attempts).Msg("report delivery failed")
	}
	return d
}

func (s *ReportSender) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// hookTarget names webhook u in a delivery: its scheme and host, and the
// first 8 hex digits of the SHA-256 of the whole URL, so that two webhooks
// on one host (every Slack webhook is on hooks.slack.com) are told apart
// when a retry looks for the ones that failed. The path stays secret.
func hookTarget(u string) string {
	sum := sha256.Sum256([]byte(u))
	return redactURL(u) + "#" + hex.EncodeToString(sum[:4])
}

// summaryTop is how many users, models and errors the summary lists.
const summaryTop = 5

// ReportSummary is the Slack-compatible message of a report: "text" (the
// notification line, and the whole message for clients without blocks)
// and "blocks": the totals with their change against the previous period,
// the top users and models by cost, and the top errors by count. It reads
// the report body as BuildReport makes it or as a store returns it.
func ReportSummary(rep Report) map[string]any {
	b := rep.Body
	tot, _ := b["totals"].(map[string]any)
	chg, _ := b["change"].(map[string]any)
	title := fmt.Sprintf("llmmeter %s report %s", rep.Kind, rep.PeriodKey)
	text := fmt.Sprintf("%s: %s requests (%s), %s (%s), %s failed", title,
		formatCount(toInt(tot["requests"])), changeText(chg["requests"]),
		formatUSD(toInt(tot["costNanoUsd"])), changeText(chg["costNanoUsd"]), formatCount(toInt(tot["failed"])))
	field := func(name, value string) map[string]any {
		return map[string]any{"type": "mrkdwn", "text": "*" + name + "*\n" + value}
	}
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": title}},
		{"type": "section", "fields": []map[string]any{
			field("Requests", formatCount(toInt(tot["requests"]))+" ("+changeText(chg["requests"])+")"),
			field("Cost", formatUSD(toInt(tot["costNanoUsd"]))+" ("+changeText(chg["costNanoUsd"])+")"),
			field("Tokens", formatCount(toInt(tot["totalTokens"]))+" ("+changeText(chg["totalTokens"])+")"),
			field("Failed", formatCount(toInt(tot["failed"]))),
		}},
	}
	list := func(heading string, rows []map[string]any, line func(map[string]any) string) {
		var sb strings.Builder
		sb.WriteString("*" + heading + "*")
		for i, r := range rows[:min(summaryTop, len(rows))] {
			fmt.Fprintf(&sb, "\n%d. %s", i+1, line(r))
		}
		if len(rows) == 0 {
			sb.WriteString("\nnone")
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": sb.String()}})
	}
	spend := func(r map[string]any) string {
		return fmt.Sprintf("%s, %s requests", formatUSD(toInt(r["costNanoUsd"])), formatCount(toInt(r["requests"])))
	}
	list("Top users", asRows(b["byUser"]), func(r map[string]any) string {
		return escapeMrkdwn(userLabel(r)) + ": " + spend(r)
	})
	list("Top models", asRows(b["byModel"]), func(r map[string]any) string {
		return escapeMrkdwn(firstString(r, "model")) + ": " + spend(r)
	})
	// Error types and status codes only: an error's sample message may
	// quote a provider's text and stays in the stored report.
	list("Top errors", asRows(b["topErrors"]), func(r map[string]any) string {
		return fmt.Sprintf("%s (HTTP %d): %s", escapeMrkdwn(firstString(r, "errorType")), toInt(r["statusCode"]), formatCount(toInt(r["count"])))
	})
	tz, _ := b["timeZone"].(string)
	blocks = append(blocks, map[string]any{"type": "context", "elements": []map[string]any{
		{"type": "mrkdwn", "text": fmt.Sprintf("Period %s (%s); change against the %s before.", rep.PeriodKey, escapeMrkdwn(tz), periodWord(rep.Kind))},
	}})
	return map[string]any{"text": text, "blocks": blocks}
}

// changeText renders a report's change (a fraction, or nil when the
// previous period had nothing) as "+12.5%" / "-3.0%" / "no previous data".
func changeText(v any) string {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return "no previous data"
	}
	return fmt.Sprintf("%+.1f%% vs previous", f*100)
}

func periodWord(kind string) string {
	if kind == "weekly" {
		return "week"
	}
	return "day"
}

// userLabel names a report's user row: "Name (email, id)", leaving out
// what the report did not record; the id alone for a user without either.
func userLabel(r map[string]any) string {
	id := firstString(r, "userId")
	var who []string
	for _, k := range []string{"userName", "userEmail"} {
		if s, ok := r[k].(string); ok && s != "" {
			who = append(who, s)
		}
	}
	switch len(who) {
	case 0:
		return id
	case 1:
		return who[0] + " (" + id + ")"
	}
	return who[0] + " (" + who[1] + ", " + id + ")"
}

func firstString(r map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := r[k].(string); ok && s != "" {
			return s
		}
	}
	return "?"
}

// escapeMrkdwn escapes the three characters Slack's mrkdwn reserves.
func escapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
