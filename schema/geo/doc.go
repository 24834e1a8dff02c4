// Package geo is the geometry of the school-perimeter rule: geodesic
// distances on the WGS-84 ellipsoid, the minimum distance between a venue
// and a school's campus polygon, the conversions between the datums Chinese
// maps use (WGS-84, GCJ-02, BD-09), and the choice and evaluation of zone
// rules kept as data.
//
// It is pure: no SQL, no HTTP, only the standard library and an R-tree, so
// that the device library (mobile-sync) can decide offline, in the field,
// whether a venue lies inside a school's zone, and the server reaches the
// same answer with the same code.
//
// Coordinates are [lng, lat] in degrees, WGS-84, as GeoJSON writes them.
// Data drawn on AMap/Tencent (GCJ-02) or Baidu (BD-09) must be converted
// with the functions of datum.go before it is measured: the offsets
// (100–700 m) exceed the 200 m fence itself.
package geo
