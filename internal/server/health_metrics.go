package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/arbiterhq/arbiter/internal/executor"
)

// healthCollector exposes each deployment's breaker state, recent error rate and
// latency in /metrics, read from the executor at scrape time.
type healthCollector struct {
	exec                *executor.Executor
	state, errRate, lat *prometheus.Desc
}

func newHealthCollector(exec *executor.Executor) *healthCollector {
	return &healthCollector{
		exec:    exec,
		state:   prometheus.NewDesc("arbiter_deployment_breaker_state", "Circuit breaker state of a deployment: 1 for its current state.", []string{"deployment", "state"}, nil),
		errRate: prometheus.NewDesc("arbiter_deployment_error_rate", "Share of failed attempts of a deployment over the breaker's window.", []string{"deployment"}, nil),
		lat:     prometheus.NewDesc("arbiter_deployment_latency_seconds", "Recent time to first byte of a deployment (moving average of successful attempts).", []string{"deployment"}, nil),
	}
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.errRate
	ch <- c.lat
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, h := range c.exec.Health() {
		for _, s := range []executor.BreakerState{executor.BreakerClosed, executor.BreakerOpen, executor.BreakerHalfOpen} {
			v := 0.0
			if h.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, h.Deployment, string(s))
		}
		ch <- prometheus.MustNewConstMetric(c.errRate, prometheus.GaugeValue, h.ErrorRate, h.Deployment)
		ch <- prometheus.MustNewConstMetric(c.lat, prometheus.GaugeValue, h.LatencyMS/1000, h.Deployment)
	}
}
