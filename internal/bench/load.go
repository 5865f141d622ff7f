package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// target is where requests go: the simulator directly or the service.
type target struct {
	name string // "direct" or "service"
	url  string // chat completions URL
	key  string // bearer key
	// headers are sent with every request (Portkey's provider and host).
	headers map[string]string
}

// newClient returns a client tuned so that the generator is not the
// bottleneck: many idle connections kept per host, no compression, no
// overall timeout (each request has its own context). With h2c it speaks
// HTTP/2 without TLS only, opening a connection per 250 open streams (the
// servers' limit).
func newClient(maxIdle int, h2c bool) *http.Client {
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxIdle,
		MaxIdleConnsPerHost: maxIdle,
		IdleConnTimeout:     60 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     4 << 10,
		ReadBufferSize:      4 << 10,
	}
	if h2c {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		t.Protocols = &p
	}
	return &http.Client{Transport: t}
}

func newRequest(ctx context.Context, tg target, body []byte) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tg.url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tg.key)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range tg.headers {
		req.Header.Set(k, v)
	}
	return req
}

// rateResult is one open-loop run.
type rateResult struct {
	sent, ok, errs int
	lat            []time.Duration // successful requests, sorted
	elapsed        time.Duration   // first send to last answer
}

func (r rateResult) throughput() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// openLoop sends rate requests per second for dur, each on its own
// schedule (open loop: a slow answer never delays the next send), with at
// most maxInflight outstanding (beyond that a send is counted as an error),
// and waits at most timeout per request. Latency is from the send to the
// last byte of the body.
func openLoop(ctx context.Context, c *http.Client, tg target, body []byte, rate int, dur, timeout time.Duration, maxInflight int) rateResult {
	n := int(float64(rate) * dur.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	var wg sync.WaitGroup
	var inflight atomic.Int64
	var lastEnd atomic.Int64
	start := time.Now()
	sent := 0
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		sent++
		if inflight.Add(1) > int64(maxInflight) {
			inflight.Add(-1)
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer inflight.Add(-1)
			rctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			t0 := time.Now()
			res, err := c.Do(newRequest(rctx, tg, body))
			if err != nil {
				return
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			end := time.Now()
			if err == nil && res.StatusCode == http.StatusOK {
				lat[i], ok[i] = end.Sub(t0), true
				for {
					old := lastEnd.Load()
					if end.UnixNano() <= old || lastEnd.CompareAndSwap(old, end.UnixNano()) {
						break
					}
				}
			}
		}(i)
	}
	wg.Wait()
	r := rateResult{sent: sent}
	for i := range sent {
		if ok[i] {
			r.ok++
			r.lat = append(r.lat, lat[i])
		}
	}
	r.errs = sent - r.ok
	slices.Sort(r.lat)
	if le := lastEnd.Load(); le > 0 {
		r.elapsed = time.Unix(0, le).Sub(start)
	}
	return r
}

// streamResult is one run of n streams held open together.
type streamResult struct {
	n, ok, errs int
	ttft        []time.Duration // sorted
	openPeak    int             // streams past their first token and not yet ended, at the sample
	rampTime    time.Duration   // first send to the last first token
	sampleRSS   int64           // service VmRSS while openPeak streams were open (0: not sampled)
}

func (r streamResult) openRate() float64 {
	if r.rampTime <= 0 {
		return 0
	}
	return float64(len(r.ttft)) / r.rampTime.Seconds()
}

// streams opens n streams, sent at rampRate per second (open loop), each
// asking the simulator to stall after the first token for hold, so that
// they are all open at once. When every stream has had its first token (or
// holdBy passes), sample is called with the number open. A stream
// succeeds when it reaches data: [DONE].
func streams(ctx context.Context, c *http.Client, tg target, body []byte, n, rampRate int, timeout, holdBy time.Duration, sample func(open int)) streamResult {
	ttft := make([]time.Duration, n)
	okv := make([]bool, n)
	var open, firsts atomic.Int64
	var lastFirst atomic.Int64
	allFirst := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rampRate)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	sentAll := make(chan struct{})
	go func() {
		defer close(sentAll)
		for i := range n {
			if ctx.Err() != nil {
				break
			}
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				first := false
				markFirst := func() {
					if first {
						return
					}
					first = true
					now := time.Now()
					lastFirst.Store(now.UnixNano())
					open.Add(1)
					if int(firsts.Add(1)) == n {
						once.Do(func() { close(allFirst) })
					}
				}
				defer func() {
					if first {
						open.Add(-1)
					} else if int(firsts.Add(1)) == n { // count failures so the sample is not held up
						once.Do(func() { close(allFirst) })
					}
				}()
				t0 := time.Now()
				res, err := c.Do(newRequest(ctx, tg, body))
				if err != nil {
					return
				}
				defer res.Body.Close()
				if res.StatusCode != http.StatusOK {
					io.Copy(io.Discard, res.Body)
					return
				}
				br := bufio.NewReaderSize(res.Body, 4096)
				for {
					line, err := br.ReadSlice('\n')
					if bytes.HasPrefix(line, []byte("data: ")) {
						if bytes.HasPrefix(line, []byte("data: [DONE]")) {
							okv[i] = first
							io.Copy(io.Discard, br)
							return
						}
						if !first {
							ttft[i] = time.Since(t0)
							markFirst()
						}
					}
					if err != nil && err != bufio.ErrBufferFull {
						return
					}
				}
			}(i)
		}
	}()
	select {
	case <-allFirst:
	case <-time.After(holdBy):
	case <-ctx.Done():
	}
	peak := int(open.Load())
	if sample != nil {
		sample(peak)
	}
	<-sentAll // every wg.Add happens before this
	wg.Wait()
	r := streamResult{n: n, openPeak: peak}
	for i := range n {
		if ttft[i] > 0 {
			r.ttft = append(r.ttft, ttft[i])
		}
		if okv[i] {
			r.ok++
		}
	}
	r.errs = n - r.ok
	slices.Sort(r.ttft)
	if lf := lastFirst.Load(); lf > 0 {
		r.rampTime = time.Unix(0, lf).Sub(start)
	}
	return r
}

// sequential sends n calls to each target one at a time, interleaved
// (direct, service, portkey, direct, ...), so that every target sees the
// same machine state; it returns each target's sorted latencies (send to
// last body byte) and its errors.
func sequential(ctx context.Context, c *http.Client, tgs []target, body []byte, n int, timeout time.Duration) (lat [][]time.Duration, errs []int) {
	lat, errs = make([][]time.Duration, len(tgs)), make([]int, len(tgs))
	for i := 0; i < n && ctx.Err() == nil; i++ {
		for j, tg := range tgs {
			rctx, cancel := context.WithTimeout(ctx, timeout)
			t0 := time.Now()
			res, err := c.Do(newRequest(rctx, tg, body))
			if err == nil {
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err == nil && res.StatusCode != http.StatusOK {
					err = errStatus
				}
			}
			d := time.Since(t0)
			cancel()
			if err != nil {
				errs[j]++
				continue
			}
			lat[j] = append(lat[j], d)
		}
	}
	for _, l := range lat {
		slices.Sort(l)
	}
	return lat, errs
}

var errStatus = errors.New("bench: status not 200")

// pct is the p-th percentile (0..100) of sorted d, nearest rank.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p/100*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}
