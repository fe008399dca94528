package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/otelauth"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// metricsSetup builds what -metrics turns on: an [auth.Observer] (package
// otelauth) whose metrics go to an OpenTelemetry MeterProvider read by the
// Prometheus exporter, and the handler of GET /metrics that serves them,
// with the Go runtime's and the process's, in Prometheus text format.
// Spans go to the global TracerProvider, a no-op unless the program sets
// one. shutdown stops the MeterProvider.
//
// Everything lives in a registry of its own, not Prometheus's global one.
// The metrics carry no email, token or client address, but they tell how
// busy the server is and how often logins fail: serve them where only the
// scraper reaches (a private listener or a proxy rule) in production.
//
// When enabled is false it returns a nil Observer and handler and a
// shutdown that does nothing.
func metricsSetup(enabled bool) (observer auth.Observer, handler http.Handler, shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if !enabled {
		return nil, nil, noop, nil
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, nil, noop, fmt.Errorf("metrics: register the Go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, nil, noop, fmt.Errorf("metrics: register the process collector: %w", err)
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, noop, fmt.Errorf("metrics: Prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	obs, err := otelauth.New(otelauth.WithMeterProvider(mp))
	if err != nil {
		_ = mp.Shutdown(context.Background())
		return nil, nil, noop, fmt.Errorf("metrics: %w", err)
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return obs, h, mp.Shutdown, nil
}
