package geo_test

import (
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema/geo"
)

// BenchmarkZoneCheck checks 10,000 venues (a third of them footprints)
// against 1,000 campuses around Linyi through the index: the nightly sweep
// of a province-sized register, and the cost of re-checking everything when
// a rule changes.
func BenchmarkZoneCheck(b *testing.B) {
	schools, venues := town(42, 1000, 10000, 40)
	rules := []geo.Rule{national, kinder}
	ix := geo.NewIndex(schools, rules)
	day := date(2024, 6, 1)
	hits := 0
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; n++ {
		hits = 0
		for _, v := range venues {
			hits += len(geo.Evaluate(v, ix, rules, day))
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(len(venues)*b.N)/el, "checks/s")
	b.ReportMetric(el/float64(b.N), "s/10k-venues")
	b.ReportMetric(float64(hits), "violations")
}

// BenchmarkZonesAtPoint asks which zones a GPS fix stands in, over one
// squad's data (60 campuses, 60 venues): what a device computes when an
// inspector records a venue in the field.
func BenchmarkZonesAtPoint(b *testing.B) {
	schools, venues := town(9, 60, 60, 5)
	rules := []geo.Rule{national, kinder}
	ix := geo.NewIndex(schools, rules)
	day := date(2024, 6, 1)
	pts := make([]geo.Point, len(venues))
	for i, v := range venues {
		if p, ok := v.Geom.(geo.Point); ok {
			pts[i] = p
		} else {
			pts[i] = v.Geom.(geo.Polygon)[0][0]
		}
	}
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; n++ {
		geo.ZonesAt(pts[n%len(pts)], "net_cafe", ix, rules, day)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
}
