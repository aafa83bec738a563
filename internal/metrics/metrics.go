// Package metrics exposes a server's measurements at /metrics in the
// Prometheus text format, through the Prometheus Go client: request
// latency by route, counters the server keeps, gauges read when the page
// is scraped, and the client's own Go runtime (go_*) and process
// (process_*) series. It has no labels of its own beyond the route,
// status class and what a gauge names; never a payload, a token or a
// person.
package metrics

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// buckets are the latency histogram's upper bounds, in seconds.
var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// gaugeTimeout bounds how long one gauge's read may take at a scrape.
const gaugeTimeout = 10 * time.Second

// Sample is one value of a gauge, with its labels.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// GaugeFunc reads a gauge's samples when the page is scraped.
type GaugeFunc func(ctx context.Context) ([]Sample, error)

// Registry holds a server's measurements. The zero value is not ready:
// use New.
type Registry struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	mu       sync.Mutex
	counters map[string]*atomic.Int64
}

// New makes a registry with the request histogram and the Go runtime and
// process collectors.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry(), counters: map[string]*atomic.Int64{}}
	r.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "banyan_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route and status class.",
		Buckets: buckets,
	}, []string{"route", "code"})
	r.reg.MustRegister(r.requests, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Counter returns the counter of that name, made on first use (help is
// read then).
func (r *Registry) Counter(name, help string) *atomic.Int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.counters[name]
	if !ok {
		c = new(atomic.Int64)
		r.counters[name] = c
		r.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(c.Load()) }))
	}
	return c
}

// Gauge adds a gauge read at each scrape; kind is "gauge" or "counter"
// (a value that only grows, read from the database). A gauge that cannot
// be read is left out of that scrape, the rest still served.
func (r *Registry) Gauge(name, help, kind string, fn GaugeFunc) {
	t := prometheus.GaugeValue
	if kind == "counter" {
		t = prometheus.CounterValue
	}
	r.reg.MustRegister(&gauge{name: name, help: help, kind: t, fn: fn})
}

// gauge is a collector that reads its samples when collected. Its label
// names come from its samples, so it describes nothing in advance (an
// unchecked collector).
type gauge struct {
	name, help string
	kind       prometheus.ValueType
	fn         GaugeFunc
}

func (g *gauge) Describe(chan<- *prometheus.Desc) {}

func (g *gauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), gaugeTimeout)
	defer cancel()
	samples, err := g.fn(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewDesc(g.name, g.help, nil, nil), err)
		return
	}
	for _, s := range samples {
		names := slices.Sorted(maps.Keys(s.Labels))
		values := make([]string, len(names))
		for i, n := range names {
			values[i] = s.Labels[n]
		}
		m, err := prometheus.NewConstMetric(prometheus.NewDesc(g.name, g.help, names, nil), g.kind, s.Value, values...)
		if err != nil {
			m = prometheus.NewInvalidMetric(prometheus.NewDesc(g.name, g.help, nil, nil), err)
		}
		ch <- m
	}
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
		r.requests.WithLabelValues(route, strconv.Itoa(rec.status/100)+"xx").Observe(time.Since(start).Seconds())
	})
}

// ServeHTTP writes the page in the Prometheus text format.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, req)
}
