package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// addedPhases is the service's llmmeter_added_latency_seconds, sum and
// count by phase, as scraped from its /metrics.
type addedPhases map[string]struct {
	sum   float64
	count float64
}

const addedMetric = "llmmeter_added_latency_seconds"

// scrapeAdded reads the service's added-latency histogram; nil when
// /metrics cannot be read.
func scrapeAdded(ctx context.Context, base string) addedPhases {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil
	}
	p := addedPhases{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.add(sc.Text())
	}
	if sc.Err() != nil {
		return nil
	}
	return p
}

// add takes one line of Prometheus text if it is the histogram's sum or
// count, e.g. `llmmeter_added_latency_seconds_sum{phase="after_upstream"} 0.5`.
func (p addedPhases) add(line string) {
	rest, ok := strings.CutPrefix(line, addedMetric+"_")
	if !ok {
		return
	}
	kind, rest, ok := strings.Cut(rest, `{phase="`)
	if !ok || (kind != "sum" && kind != "count") {
		return
	}
	phase, val, ok := strings.Cut(rest, `"} `)
	if !ok {
		return
	}
	v, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return
	}
	e := p[phase]
	if kind == "sum" {
		e.sum = v
	} else {
		e.count = v
	}
	p[phase] = e
}

// since is what was added between two scrapes.
func (p addedPhases) since(before addedPhases) addedPhases {
	if p == nil || before == nil {
		return nil
	}
	d := addedPhases{}
	for k, v := range p {
		v.sum -= before[k].sum
		v.count -= before[k].count
		d[k] = v
	}
	return d
}

// mean is a phase's mean over the calls it counted.
func (p addedPhases) mean(phase string) (time.Duration, bool) {
	e, ok := p[phase]
	if !ok || e.count <= 0 {
		return 0, false
	}
	return time.Duration(e.sum / e.count * float64(time.Second)), true
}

// line says, under the sequential table, where the service's added
// latency goes by its own account.
func (p addedPhases) line() string {
	before, ok1 := p.mean("before_upstream")
	after, ok2 := p.mean("after_upstream")
	if !ok1 || !ok2 {
		return "The service's own account of its share (" + addedMetric + ") could not be read."
	}
	return fmt.Sprintf("The service's own account of its share, from %s over these calls (mean per call): "+
		"**%.0f µs before the upstream call** (body read, authentication, attribution, quota admission) and "+
		"**%.0f µs after the upstream answer ended** (the rows made durable, then the answer sent); "+
		"the rest of the added latency is the path outside these phases: the client's connection to the service and the upstream leg (HTTP/2, a plain call read as a stream).",
		addedMetric, float64(before.Nanoseconds())/1e3, float64(after.Nanoseconds())/1e3)
}
