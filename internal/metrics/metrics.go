// Package metrics holds the service's Prometheus metrics, registered on a
// registry of its own (no global state), served at /metrics.
//
// Label values come only from bounded sets: the model label is the model
// OpenRouter reports it used (never the caller's free text), "none" when no
// generation happened.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"llmmeter/internal/outbox"
)

// Metrics are the service's collectors.
type Metrics struct {
	reg *prometheus.Registry

	Requests         *prometheus.CounterVec   // model, status, code
	Tokens           *prometheus.CounterVec   // model, kind
	CostUSD          *prometheus.CounterVec   // model
	UpstreamLatency  *prometheus.HistogramVec // model
	TimeToFirstToken *prometheus.HistogramVec // model
	AddedLatency     *prometheus.HistogramVec // phase
	// AddedBefore and AddedAfter are AddedLatency's two phases, resolved
	// once: every call observes both, without hashing their labels.
	AddedBefore, AddedAfter prometheus.Observer
	ActiveStreams           prometheus.Gauge
	QuotaRejections         *prometheus.CounterVec // quota_type
	DeliveryFailures        prometheus.Counter
	DeliveredRows           prometheus.Counter
	JobRuns                 *prometheus.CounterVec // job, outcome
}

// latencyBuckets span a fast cache hit to a long reasoning answer.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// addedBuckets span a warm admission (microseconds) to a store that is
// slow to answer: the gateway's own share of a call.
var addedBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}

// New registers every collector, plus Go runtime and process metrics, and
// the outbox depth read at scrape time (ob may be nil).
func New(ob *outbox.Outbox) *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmmeter_requests_total",
			Help: "Chat completion requests with a request log (answered upstream, or refused on a quota: model none, code 429), by model used, outcome (success|error) and HTTP status code."}, []string{"model", "status", "code"}),
		Tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmmeter_tokens_total",
			Help: "Tokens of usage rows as recorded, by model and kind (prompt|completion|cached|reasoning); counted when the row is final, like llmmeter_cost_usd_total."}, []string{"model", "kind"}),
		CostUSD: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmmeter_cost_usd_total",
			Help: "Cost in USD of usage rows as recorded, by model: at request end when OpenRouter reported it, else when the pending row is settled (from the generation record, or estimated). The store holds the exact figures."}, []string{"model"}),
		UpstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "llmmeter_upstream_duration_seconds",
			Help: "Time from opening the upstream call to its end.", Buckets: latencyBuckets}, []string{"model"}),
		TimeToFirstToken: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "llmmeter_time_to_first_token_seconds",
			Help: "Time from request start to the first chunk forwarded.", Buckets: latencyBuckets}, []string{"model"}),
		AddedLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "llmmeter_added_latency_seconds",
			Help:    "Latency the gateway adds to a call that went upstream, by phase: before_upstream (from arrival to the upstream call: the body read, authentication, attribution, quota admission) and after_upstream (from the upstream answer's end to the response's end: the rows made durable, then the body or [DONE] sent).",
			Buckets: addedBuckets}, []string{"phase"}),
		ActiveStreams: prometheus.NewGauge(prometheus.GaugeOpts{Name: "llmmeter_active_streams",
			Help: "Streams open right now."}),
		QuotaRejections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmmeter_quota_rejections_total",
			Help: "Requests refused by a quota, by quota type."}, []string{"quota_type"}),
		DeliveryFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "llmmeter_outbox_delivery_failures_total",
			Help: "Failed attempts to deliver outbox batches to the store."}),
		DeliveredRows: prometheus.NewCounter(prometheus.CounterOpts{Name: "llmmeter_outbox_delivered_rows_total",
			Help: "Rows the store has taken from the outbox."}),
		JobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmmeter_job_runs_total",
			Help: "Scheduled job runs by job and outcome."}, []string{"job", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.Requests, m.Tokens, m.CostUSD, m.UpstreamLatency, m.TimeToFirstToken,
		m.AddedLatency, m.ActiveStreams, m.QuotaRejections, m.DeliveryFailures, m.DeliveredRows, m.JobRuns,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	m.AddedBefore, m.AddedAfter = m.AddedLatency.WithLabelValues("before_upstream"), m.AddedLatency.WithLabelValues("after_upstream")
	if ob != nil {
		f(&outboxCollector{ob: ob})
	}
	return m
}

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

var (
	outboxDepthDesc = prometheus.NewDesc("llmmeter_outbox_entries", "Outbox entries by state (ready|pending|dead).", []string{"state"}, nil)
	outboxAgeDesc   = prometheus.NewDesc("llmmeter_outbox_oldest_entry_age_seconds", "Age of the oldest ready or pending outbox entry.", nil, nil)
)

// outboxCollector reads the outbox depth when scraped.
type outboxCollector struct{ ob *outbox.Outbox }

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxAgeDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.ob.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepthDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(st.Ready), "ready")
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(st.Pending), "pending")
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(st.Dead), "dead")
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, float64(st.OldestMs)/1000)
}
