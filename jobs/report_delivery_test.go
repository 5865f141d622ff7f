package jobs_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/periods"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// hookReceiver is a real webhook endpoint on loopback that checks each
// request's X-Llmmeter-Signature as the README tells a receiver to
// (HMAC-SHA256(secret, "webhook\n<t>\n<body>")), and answers with the
// statuses of fail first.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	fail   []int // statuses of the first requests, then 200
	bodies [][]byte
	badSig int
}

func newHookReceiver(t *testing.T, secret string, fail ...int) *hookReceiver {
	h := &hookReceiver{fail: fail}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !validSignature(secret, r.Header.Get("X-Llmmeter-Signature"), body) {
			h.badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.bodies = append(h.bodies, body)
		if len(h.fail) > 0 {
			status := h.fail[0]
			h.fail = h.fail[1:]
			w.WriteHeader(status)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) received() ([][]byte, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bodies, h.badSig
}

func validSignature(secret, header string, body []byte) bool {
	var ts, mac string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			mac = v
		}
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("webhook\n" + ts + "\n"))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(mac), []byte(want))
}

// storedReport is a row of llmmeter:reports (the same shape on both engines).
type storedReport struct {
	ID         string                `json:"id"`
	Kind       string                `json:"kind"`
	PeriodKey  string                `json:"periodKey"`
	Body       map[string]any        `json:"body"`
	Deliveries []jobs.ReportDelivery `json:"deliveries"`
}

// TestReportDelivery: the daily report job stores the report and posts its
// Slack-compatible summary (text + blocks) to three real loopback
// webhooks: one answers at once, one after a 503 (retried), one always
// 500 (given up after the retries). Each body is signed; what arrives
// equals ReportSummary of the report as the engine stored it, with the
// totals, change against the day before, top users, models and errors;
// the deliveries are recorded per webhook and read back through
// llmmeter:reports; the log names neither the message nor a URL's path.
func TestReportDelivery(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		const secret = "report-hook-secret"
		ok, flaky, down := newHookReceiver(t, secret), newHookReceiver(t, secret, 503), newHookReceiver(t, secret, 500, 500, 500)
		path := "/services/T000/B000/pathsecret"
		var logs bytes.Buffer
		clk := &clock{}
		send := &jobs.ReportSender{Store: e.st, Now: clk.Now, Log: zerolog.New(&logs),
			Hooks: &jobs.Webhooks{URLs: []string{ok.URL + path, flaky.URL + path, down.URL + path}, Secret: secret, MaxRetries: 2,
				MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Client: &http.Client{Timeout: 30 * time.Second}}}
		s := newScheduler(t, e.st, e.loc, clk, "r")
		s.Add(&jobs.Reports{Store: e.st, Cal: e.cal, Period: periods.Daily, Send: send}, "15 0 * * *")

		var ids []string
		for _, n := range []string{"dana", "eli"} {
			u, _, err := e.st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: n, Name: "Name " + n, Email: n + "@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		g := &gen{n: 20_000}
		day := time.Date(time.Now().Year()+2, 5, 12, 0, 0, 0, 0, e.loc)
		var b store.Batch
		for i := range 9 { // the day before: 9 requests
			u, l := g.request(day.AddDate(0, 0, -1).Add(time.Duration(i)*time.Hour), ids[0], "m/a", true, 200)
			b.Usage, b.RequestLogs = append(b.Usage, u), append(b.RequestLogs, l)
		}
		for i := range 12 { // the day: 12 requests, 3 failed, 2 users, 3 models
			u, l := g.request(day.Add(time.Duration(i)*time.Hour+time.Minute), ids[i%2], []string{"m/a", "m/b", "m/c"}[i%3], i%4 != 0, 500)
			b.Usage, b.RequestLogs = append(b.Usage, u), append(b.RequestLogs, l)
		}
		e.ingest(t, b)

		clk.Set(day.AddDate(0, 0, 1).Add(15 * time.Minute))
		run, err := s.RunOnce(ctx, jobs.JobReportDaily)
		if err == nil || run.Outcome != jobs.OutcomeFailure || run.Counts["delivered"] != 2 || run.Counts["failed"] != 1 {
			t.Fatalf("run %+v err %v: want two delivered, one failed", run, err)
		}

		var list []storedReport
		if err := json.Unmarshal(e.admin(t, "query", "llmmeter:reports", map[string]any{"limit": 10}), &list); err != nil || len(list) != 1 {
			t.Fatalf("reports %v %v", list, err)
		}
		stored := list[0]
		if stored.Kind != "daily" || stored.PeriodKey != day.Format("2006-01-02") {
			t.Fatalf("stored %s %s", stored.Kind, stored.PeriodKey)
		}
		want, _ := json.Marshal(jobs.ReportSummary(jobs.Report{Kind: stored.Kind, PeriodKey: stored.PeriodKey, Body: stored.Body}))
		for name, h := range map[string]*hookReceiver{"ok": ok, "flaky": flaky, "down": down} {
			bodies, bad := h.received()
			wantN := map[string]int{"ok": 1, "flaky": 2, "down": 3}[name]
			if len(bodies) != wantN || bad != 0 {
				t.Fatalf("%s: %d signed bodies (%d bad signatures), want %d", name, len(bodies), bad, wantN)
			}
			for _, got := range bodies {
				if !jsonEqual(t, got, want) {
					t.Fatalf("%s received\n%s\nwant the stored report's summary\n%s", name, got, want)
				}
			}
		}

		// What a reader of the channel sees, from the stored figures.
		var msg struct {
			Text   string           `json:"text"`
			Blocks []map[string]any `json:"blocks"`
		}
		bodies, _ := ok.received()
		json.Unmarshal(bodies[0], &msg)
		whole, _ := json.Marshal(msg.Blocks)
		tot := stored.Body["totals"].(map[string]any)
		if tot["requests"] != float64(12) || tot["failed"] != float64(3) {
			t.Fatalf("stored totals %v", tot)
		}
		for _, s := range []string{"llmmeter daily report " + stored.PeriodKey + ": 12 requests (+33.3% vs previous)", "3 failed"} {
			if !strings.Contains(msg.Text, s) {
				t.Errorf("text %q lacks %q", msg.Text, s)
			}
		}
		// Both users are named beside their ids, in the body, the CSV
		// and the summary.
		who := map[string]string{ids[0]: "dana", ids[1]: "eli"}
		for _, r := range stored.Body["byUser"].([]any) {
			r := r.(map[string]any)
			n := who[r["userId"].(string)]
			if n == "" || r["userName"] != "Name "+n || r["userEmail"] != n+"@example.com" {
				t.Errorf("byUser row %v: want dana's or eli's name and email", r)
			}
		}
		var full struct {
			CSV string `json:"csv"`
		}
		if err := json.Unmarshal(e.admin(t, "query", "llmmeter:report", map[string]any{"reportId": stored.ID}), &full); err != nil {
			t.Fatalf("report: %v", err)
		}
		csvText := full.CSV
		for id, n := range who {
			if row := "user," + id + ",Name " + n + "," + n + "@example.com," + stored.PeriodKey + ","; !strings.Contains(csvText, row) {
				t.Errorf("csv lacks %q:\n%s", row, csvText)
			}
		}
		top := stored.Body["byUser"].([]any)[0].(map[string]any)["userId"].(string)
		topLabel := "Name " + who[top] + " (" + who[top] + "@example.com, " + top + ")"
		for _, s := range []string{"Top users", "1. " + topLabel + ": ", "Top models", "m/a", "m/b", "m/c", "Top errors", "upstream_error (HTTP 502): 3"} {
			if !strings.Contains(string(whole), s) {
				t.Errorf("blocks lack %q: %s", s, whole)
			}
		}

		byTarget := map[string]jobs.ReportDelivery{}
		for _, d := range stored.Deliveries {
			byTarget[d.Target] = d
			if strings.Contains(d.Target+d.Error, "pathsecret") || strings.Contains(d.Target+d.Error, secret) || d.At != clk.Now().UnixMilli() {
				t.Errorf("delivery %+v", d)
			}
		}
		target := func(h *hookReceiver) string { return hookTarget(h.URL + path) }
		at := clk.Now().UnixMilli()
		wantD := map[string]jobs.ReportDelivery{
			target(ok):    {Target: target(ok), Status: "delivered", Attempts: 1, At: at, FirstAt: at},
			target(flaky): {Target: target(flaky), Status: "delivered", Attempts: 2, At: at, FirstAt: at},
			target(down): {Target: target(down), Status: "failed", Attempts: 3, At: at, FirstAt: at,
				Error: "webhook " + down.URL + "/<secret>: HTTP 500"},
		}
		if len(stored.Deliveries) != 3 || !reflect.DeepEqual(byTarget, wantD) {
			t.Fatalf("deliveries %+v\nwant %+v", stored.Deliveries, wantD)
		}
		if l := logs.String(); strings.Contains(l, "pathsecret") || strings.Contains(l, "Top users") || strings.Contains(l, msg.Text) ||
			strings.Contains(l, "Name dana") || strings.Contains(l, "@example.com") ||
			!strings.Contains(l, "report delivery failed") {
			t.Fatalf("log: %s", l)
		}
	})
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
