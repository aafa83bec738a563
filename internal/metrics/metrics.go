// Package metrics exposes a server's measurements at /metrics in the
// Prometheus text format: request latency by route, counters the server
// keeps, and gauges read when the page is scraped. It has no labels of
// its own beyond the route, status class and what a gauge names; never a
// payload, a token or a person.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// buckets are the latency histogram's upper bounds, in seconds.
var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Sample is one value of a gauge, with its labels.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// GaugeFunc reads a gauge's samples when the page is scraped.
type GaugeFunc func(ctx context.Context) ([]Sample, error)

type gauge struct {
	name, help, kind string
	fn               GaugeFunc
}

type routeKey struct{ route, class string }

type histogram struct {
	counts []int64 // per bucket, not cumulative
	sum    float64
	n      int64
}

// Registry holds a server's measurements. The zero value is not ready:
// use New.
type Registry struct {
	mu       sync.Mutex
	requests map[routeKey]*histogram
	counters map[string]*counter
	gauges   []gauge
}

type counter struct {
	help string
	v    atomic.Int64
}

// New makes an empty registry.
func New() *Registry {
	return &Registry{requests: map[routeKey]*histogram{}, counters: map[string]*counter{}}
}

// Counter returns the counter of that name, made on first use.
func (r *Registry) Counter(name, help string) *atomic.Int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.counters[name]
	if !ok {
		c = &counter{help: help}
		r.counters[name] = c
	}
	return &c.v
}

// Gauge adds a gauge read at each scrape; kind is "gauge" or "counter"
// (a value that only grows, read from the database).
func (r *Registry) Gauge(name, help, kind string, fn GaugeFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gauges = append(r.gauges, gauge{name, help, kind, fn})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Middleware times every request of next, by the route pattern the mux
// matched (so ids never become labels) and the status class.
func (r *Registry) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, req)
		route := req.Pattern
		if route == "" {
			route = "unmatched"
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		r.observe(routeKey{route, strconv.Itoa(rec.status/100) + "xx"}, time.Since(start).Seconds())
	})
}

func (r *Registry) observe(k routeKey, seconds float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.requests[k]
	if !ok {
		h = &histogram{counts: make([]int64, len(buckets)+1)}
		r.requests[k] = h
	}
	i, _ := slices.BinarySearch(buckets, seconds)
	h.counts[i]++
	h.sum += seconds
	h.n++
}

// ServeHTTP writes the page.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var b strings.Builder
	r.mu.Lock()
	keys := make([]routeKey, 0, len(r.requests))
	for k := range r.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, c routeKey) int { return strings.Compare(a.route+a.class, c.route+c.class) })
	b.WriteString("# HELP banyan_http_request_duration_seconds Time to answer an HTTP request, by route and status class.\n")
	b.WriteString("# TYPE banyan_http_request_duration_seconds histogram\n")
	for _, k := range keys {
		h := r.requests[k]
		labels := fmt.Sprintf(`route=%s,code=%s`, quote(k.route), quote(k.class))
		var cum int64
		for i, le := range buckets {
			cum += h.counts[i]
			fmt.Fprintf(&b, "banyan_http_request_duration_seconds_bucket{%s,le=\"%g\"} %d\n", labels, le, cum)
		}
		fmt.Fprintf(&b, "banyan_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", labels, h.n)
		fmt.Fprintf(&b, "banyan_http_request_duration_seconds_sum{%s} %g\n", labels, h.sum)
		fmt.Fprintf(&b, "banyan_http_request_duration_seconds_count{%s} %d\n", labels, h.n)
	}
	names := make([]string, 0, len(r.counters))
	for n := range r.counters {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c := r.counters[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", n, c.help, n, n, c.v.Load())
	}
	gauges := slices.Clone(r.gauges)
	r.mu.Unlock()
	for _, g := range gauges {
		samples, err := g.fn(req.Context())
		if err != nil {
			fmt.Fprintf(&b, "# %s: not read (%v)\n", g.name, err)
			continue
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", g.name, g.help, g.name, g.kind)
		for _, s := range samples {
			fmt.Fprintf(&b, "%s%s %g\n", g.name, labelSet(s.Labels), s.Value)
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write([]byte(b.String()))
}

func labelSet(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + quote(l[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// quote writes a label value: backslash, quote and newline escaped.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
