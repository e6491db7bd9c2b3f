// Package metrics exports engram's figures in the Prometheus text format:
// request durations by route, SQL statements by operation, slow
// statements, and the connection pools. No label carries a tenant or an
// id, so the number of series stays fixed however much data there is.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/engram-kb/engram"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds engram's collectors in a registry of its own.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.HistogramVec
	statements *prometheus.HistogramVec
	stmtErrors *prometheus.CounterVec
	slow       *prometheus.CounterVec
	finished   *prometheus.CounterVec
	slowAfter  time.Duration
}

// New registers engram's collectors; pools, when not nil, is asked for its
// pool figures at every scrape. Statements slower than slowAfter count as
// slow.
func New(pools engram.PoolReporter, slowAfter time.Duration) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "engram_http_request_duration_seconds",
			Help:    "HTTP request durations by route pattern, method and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "status_class"}),
		statements: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "engram_sql_statement_duration_seconds",
			Help:    "SQL statement durations by operation name (its _count is the number of statements).",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"op"}),
		stmtErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "engram_sql_statement_errors_total",
			Help: "SQL statements that failed, by operation name.",
		}, []string{"op"}),
		slow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "engram_sql_slow_statements_total",
			Help: "SQL statements slower than the slow-statement threshold, by operation name.",
		}, []string{"op"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "engram_jobs_finished_total",
			Help: "Jobs this process's workers finished, by kind and final status.",
		}, []string{"kind", "status"}),
		slowAfter: slowAfter,
	}
	m.reg.MustRegister(m.requests, m.statements, m.stmtErrors, m.slow, m.finished,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pools != nil {
		m.reg.MustRegister(poolCollector{pools})
	}
	return m
}

// JobFinished counts a job a worker finished; it fits jobs.Config.Finished.
func (m *Metrics) JobFinished(kind engram.JobKind, status engram.JobStatus) {
	m.finished.WithLabelValues(string(kind), string(status)).Inc()
}

// WatchJobs reports the queued and running jobs of every tenant, by kind
// and status, as gauges read from the database at each scrape (one
// statement over a partial index). Every kind and status has a series,
// zero when no job is in it, so dashboards and alerts see no gaps.
func (m *Metrics) WatchJobs(js engram.JobScheduler) { m.reg.MustRegister(jobCollector{js}) }

var jobsActive = prometheus.NewDesc("engram_jobs", "Queued and running jobs of all tenants, by kind and status.",
	[]string{"kind", "status"}, nil)

var jobsUp = prometheus.NewDesc("engram_jobs_scrape_ok", "1 when the job counts could be read at this scrape, else 0.", nil, nil)

// jobScrapeTimeout bounds the job count statement at a scrape.
const jobScrapeTimeout = 2 * time.Second

type jobCollector struct{ js engram.JobScheduler }

func (c jobCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsActive; ch <- jobsUp }

func (c jobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), jobScrapeTimeout)
	defer cancel()
	counts, err := c.js.ActiveJobCounts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(jobsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(jobsUp, prometheus.GaugeValue, 1)
	n := map[[2]string]int{}
	for _, jc := range counts {
		n[[2]string{string(jc.Kind), string(jc.Status)}] += jc.Count
	}
	for _, k := range engram.JobKinds {
		for _, st := range []engram.JobStatus{engram.JobQueued, engram.JobRunning} {
			key := [2]string{string(k), string(st)}
			ch <- prometheus.MustNewConstMetric(jobsActive, prometheus.GaugeValue, float64(n[key]), key[0], key[1])
		}
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveStatement records one SQL statement; it fits
// engram.StatementObserver.
func (m *Metrics) ObserveStatement(_ context.Context, st engram.Statement) {
	m.statements.WithLabelValues(st.Op).Observe(st.Duration.Seconds())
	if st.Err != nil {
		m.stmtErrors.WithLabelValues(st.Op).Inc()
	}
	if m.slowAfter > 0 && st.Duration > m.slowAfter {
		m.slow.WithLabelValues(st.Op).Inc()
	}
}

// ObserveRequest records one HTTP request. Requests that matched no route
// share the route label "unmatched".
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status/100)+"xx").Observe(d.Seconds())
}

// poolCollector turns a store's pool figures into gauges and counters at
// scrape time.
type poolCollector struct{ pools engram.PoolReporter }

var (
	poolLabels   = []string{"pool"}
	poolAcquired = prometheus.NewDesc("engram_db_pool_acquired_connections", "Connections in use.", poolLabels, nil)
	poolIdle     = prometheus.NewDesc("engram_db_pool_idle_connections", "Idle connections in the pool.", poolLabels, nil)
	poolTotal    = prometheus.NewDesc("engram_db_pool_total_connections", "Open connections.", poolLabels, nil)
	poolMax      = prometheus.NewDesc("engram_db_pool_max_connections", "Most connections the pool opens.", poolLabels, nil)
	poolWaiting  = prometheus.NewDesc("engram_db_pool_waiting_requests", "Requests waiting for a connection now.", poolLabels, nil)
	poolAcquires = prometheus.NewDesc("engram_db_pool_acquires_total", "Connections handed out (SQLite: waits for one).", poolLabels, nil)
	poolWait     = prometheus.NewDesc("engram_db_pool_acquire_wait_seconds_total", "Time spent waiting for connections.", poolLabels, nil)
	poolTimeouts = prometheus.NewDesc("engram_db_pool_acquire_timeouts_total", "Requests that gave up waiting for a connection (answered 503).", poolLabels, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolWaiting, poolAcquires, poolWait, poolTimeouts} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pools.PoolStats() {
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, p.Name)
		}
		n := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, p.Name)
		}
		g(poolAcquired, float64(p.Acquired))
		g(poolIdle, float64(p.Idle))
		g(poolTotal, float64(p.Total))
		g(poolMax, float64(p.Max))
		g(poolWaiting, float64(p.Waiting))
		n(poolAcquires, float64(p.AcquireCount))
		n(poolWait, p.AcquireWait.Seconds())
		n(poolTimeouts, float64(p.AcquireTimeouts))
	}
}
