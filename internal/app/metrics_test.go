package app

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"llmmeter/internal/testaddr"
)

// TestMetricsScrape makes one successful and one refused-upstream call and
// reads the counters back from /metrics in Prometheus text format.
func TestMetricsScrape(t *testing.T) {
	e := start(t)
	for _, body := range []string{chatBody(true, "count me"), chatBody(false, "[sim:status code=402]")} {
		res := e.post(body, e.key)
		io.ReadAll(res.Body)
		res.Body.Close()
	}
	e.settle()
	res, err := http.Get(e.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(b)
	if ct := res.Header.Get("Content-Type"); !regexp.MustCompile(`^text/plain`).MatchString(ct) {
		t.Fatalf("content type %q", ct)
	}
	g := e.sim.Ledger()[0]
	value := func(pattern string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + pattern + ` ([0-9.e+-]+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no sample %s in:\n%s", pattern, text)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	if v := value(`llmmeter_requests_total\{code="200",model="openai/gpt-4o-mini",status="success"\}`); v != 1 {
		t.Errorf("successful requests = %v", v)
	}
	if v := value(`llmmeter_requests_total\{code="402",model="none",status="error"\}`); v != 1 {
		t.Errorf("refused requests = %v", v)
	}
	if v := value(`llmmeter_tokens_total\{kind="completion",model="openai/gpt-4o-mini"\}`); v != float64(g.CompletionTokens) {
		t.Errorf("completion tokens = %v, ledger %d", v, g.CompletionTokens)
	}
	if v := value(`llmmeter_time_to_first_token_seconds_count\{model="openai/gpt-4o-mini"\}`); v != 1 {
		t.Errorf("ttft observations = %v", v)
	}
	if v := value(`llmmeter_outbox_delivered_rows_total`); v < 4 {
		t.Errorf("delivered rows = %v", v)
	}
	value(`llmmeter_outbox_entries\{state="ready"\}`)
	value(`llmmeter_active_streams`)
}

// TestPprofOnItsOwnListener: PPROF_ADDR serves the profiler on a separate
// listener, never on the gateway's.
func TestPprofOnItsOwnListener(t *testing.T) {
	addr := testaddr.Reserve(t)
	e := start(t, "PPROF_ADDR", addr)
	res, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("pprof listener: %v %v", res, err)
	}
	res.Body.Close()
	res, _ = http.Get(e.base + "/debug/pprof/cmdline")
	if res.StatusCode != 404 {
		t.Fatalf("pprof on the gateway: %d", res.StatusCode)
	}
	res.Body.Close()
}
