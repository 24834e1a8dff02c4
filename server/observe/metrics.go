// Package observe gives the server its Prometheus metrics, request ids,
// structured request logs and overload protection. It knows nothing of
// sync or photos; the server feeds it counts.
package observe

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every metric the server exports at /metrics. It uses its own
// registry (not the global one) so that tests can run many servers in one
// process.
type Metrics struct {
	Registry *prometheus.Registry

	// Requests counts HTTP requests by route pattern, method and status code.
	Requests *prometheus.CounterVec
	// Latency observes request duration by route pattern and outcome class
	// (ok, client_error, server_error, overloaded).
	Latency *prometheus.HistogramVec
	// InFlight is the number of requests being served.
	InFlight prometheus.Gauge
	// Mutations counts pushed mutations by outcome.
	Mutations *prometheus.CounterVec
	// PulledChanges counts rows sent to devices by kind.
	PulledChanges *prometheus.CounterVec
	// PhotoBytes counts photo bytes received from devices.
	PhotoBytes prometheus.Counter
	// PhotosStored counts photos committed to the blob store.
	PhotosStored prometheus.Counter
	// BlobErrors counts blob-store failures by operation (S3 errors show here).
	BlobErrors *prometheus.CounterVec
	// Rejections counts requests turned away by overload protection, by route.
	Rejections *prometheus.CounterVec
}

// NewMetrics creates and registers the server's metrics, plus the Go
// runtime and process collectors.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patrol_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "patrol_http_request_duration_seconds",
			Help:    "HTTP request latency by route and outcome.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "outcome"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "patrol_http_requests_in_flight", Help: "HTTP requests being served now.",
		}),
		Mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patrol_sync_mutations_total", Help: "Pushed mutations by outcome (applied, duplicate, conflict, rejected).",
		}, []string{"outcome"}),
		PulledChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patrol_sync_pulled_changes_total", Help: "Changes sent to devices by kind.",
		}, []string{"kind"}),
		PhotoBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "patrol_photo_bytes_received_total", Help: "Photo bytes received from devices.",
		}),
		PhotosStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "patrol_photos_stored_total", Help: "Photos verified and committed to the blob store.",
		}),
		BlobErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patrol_blob_errors_total", Help: "Blob store (local disk or S3) failures by operation.",
		}, []string{"op"}),
		Rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patrol_overload_rejections_total", Help: "Requests refused with 503/429 because the server was at capacity.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.Requests, m.Latency, m.InFlight, m.Mutations, m.PulledChanges, m.PhotoBytes, m.PhotosStored,
		m.BlobErrors, m.Rejections,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// GaugeFunc registers a gauge whose value is read at scrape time, for
// figures that live in the database (pending conflicts, photos awaited).
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// Register adds the collectors of other parts of the server (the login
// hashing pool, say) to this registry, so they are served at /metrics
// behind the same access rule. Labels of such collectors must come from a
// closed set, as the request metrics' do (see Middleware).
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.Registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// CounterFunc registers a counter whose value is read at scrape time, for
// counts kept by a package that knows nothing of Prometheus (thumbnails);
// labels (may be nil) tell apart the series of one name.
func (m *Metrics) CounterFunc(name, help string, labels map[string]string, fn func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, fn))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
