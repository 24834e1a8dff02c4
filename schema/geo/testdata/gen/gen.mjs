// gen.mjs writes the reference vectors of package geo (../vectors.json) with
// Karney's GeographicLib (npm package geographiclib-geodesic, the author's own
// JavaScript port). The Go tests compare against these numbers, so the Go code
// is checked against an independent implementation, not against itself.
//
// Re-run (see ../README.md):
//   mkdir -p /tmp/gl && cd /tmp/gl && npm init -y && npm install geographiclib-geodesic@2.2.0
//   NODE_PATH=/tmp/gl/node_modules node --preserve-symlinks gen.mjs > ../vectors.json
// (or copy gen.mjs into /tmp/gl and run it there).
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd() + '/node_modules', 'x.js'));
const { Geodesic } = require('geographiclib-geodesic');
const geod = Geodesic.WGS84;

// mulberry32: a seeded generator, so that a re-run writes the same file.
function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20240611);
const r7 = (x) => Math.round(x * 1e7) / 1e7; // coordinates as a survey would give them

const cities = [
  { name: 'linyi', lat: 35.1, lng: 118.3 },
  { name: 'guangzhou', lat: 23.1, lng: 113.3 },
  { name: 'harbin', lat: 45.7, lng: 126.6 },
];

// at returns [lng, lat] at distance d (m) and azimuth az (deg) from [lng, lat].
function at(p, az, d) {
  const r = geod.Direct(p[1], p[0], az, d);
  return [r.lon2, r.lat2];
}
function inv(p, q) { return geod.Inverse(p[1], p[0], q[1], q[0]); }

// (a) inverse problems.
const inverse = [];
for (const c of cities) {
  const o = [c.lng, c.lat];
  for (const d of [0.05, 0.5, 3, 17, 99.9, 200, 250, 1000, 5000, 20000, 80000]) {
    for (let k = 0; k < 3; k++) {
      const p1 = at(o, rand() * 360, rand() * 3000).map(r7);
      const p2 = at(p1, rand() * 360 - 180, d).map(r7);
      const r = inv(p1, p2);
      inverse.push({ p1, p2, s12: r.s12, azi1: r.azi1, azi2: r.azi2 });
    }
  }
  for (let k = 0; k < 20; k++) {
    const p1 = at(o, rand() * 360, rand() * 5000).map(r7);
    const p2 = at(o, rand() * 360, rand() * 5000).map(r7);
    const r = inv(p1, p2);
    inverse.push({ p1, p2, s12: r.s12, azi1: r.azi1, azi2: r.azi2 });
  }
}

// Shapes in metres east/north of a centre, turned into [lng, lat] by Direct.
function ringFrom(o, pts) {
  return pts.map(([e, n]) => {
    const d = Math.hypot(e, n);
    const az = (Math.atan2(e, n) * 180) / Math.PI;
    return at(o, az, d).map(r7);
  });
}
const close = (r) => [...r, r[0]];
function shapes(o) {
  const L = [[-150, -120], [150, -120], [150, -20], [-40, -20], [-40, 130], [-150, 130]]; // L-shaped campus
  const U = [[-200, -100], [200, -100], [200, 150], [120, 150], [120, 0], [-120, 0], [-120, 150], [-200, 150]]; // U: a deep notch
  const outer = [[-220, -160], [230, -170], [240, 170], [-210, 160]];
  const hole = [[-60, -40], [70, -45], [65, 50], [-55, 45]];
  const partA = [[-400, -80], [-250, -80], [-250, 90], [-400, 90]];
  const partB = [[-100, -120], [150, -110], [160, 120], [40, 40], [-90, 130]];
  const holeB = [[0, -60], [80, -60], [80, 0], [0, 0]];
  const star = [];
  for (let i = 0; i < 10; i++) {
    const r = i % 2 === 0 ? 2500 : 900;
    const a = (i * 36 * Math.PI) / 180;
    star.push([r * Math.sin(a), r * Math.cos(a)]);
  }
  return {
    concave_l: [[close(ringFrom(o, L))]],
    concave_u: [[close(ringFrom(o, U))]],
    with_hole: [[close(ringFrom(o, outer)), close(ringFrom(o, hole))]],
    multi: [[close(ringFrom(o, partA))], [close(ringFrom(o, partB)), close(ringFrom(o, holeB))]],
    star_km: [[close(ringFrom(o, star))]],
  };
}

// inRing: ray casting in lng/lat (a school's edges are short, so a straight
// lng/lat edge and the geodesic differ by millimetres).
function inRing(p, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
function inside(p, mp) {
  return mp.some((poly) => inRing(p, poly[0]) && !poly.slice(1).some((h) => inRing(p, h)));
}

// edgeMin is the minimum geodesic distance from p to the geodesic a→b: the
// edge is sampled every 2 m with Line.Position, then the best interval is
// narrowed by golden-section search to 1e-6 m along the edge.
function edgeMin(p, a, b) {
  const line = geod.InverseLine(a[1], a[0], b[1], b[0]);
  const L = line.s13;
  const f = (s) => { const q = line.Position(s); return geod.Inverse(p[1], p[0], q.lat2, q.lon2).s12; };
  const n = Math.max(1, Math.ceil(L / 2));
  let best = Infinity, bi = 0;
  for (let i = 0; i <= n; i++) { const v = f((L * i) / n); if (v < best) { best = v; bi = i; } }
  let lo = (L * Math.max(0, bi - 1)) / n, hi = (L * Math.min(n, bi + 1)) / n;
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo), f1 = f(x1), f2 = f(x2);
  while (hi - lo > 1e-6) {
    if (f1 < f2) { hi = x2; x2 = x1; f2 = f1; x1 = hi - g * (hi - lo); f1 = f(x1); }
    else { lo = x1; x1 = x2; f1 = f2; x2 = lo + g * (hi - lo); f2 = f(x2); }
  }
  return Math.min(best, f1, f2);
}
function edges(mp) {
  const out = [];
  for (const poly of mp) for (const ring of poly) for (let i = 0; i + 1 < ring.length; i++) out.push([ring[i], ring[i + 1]]);
  return out;
}
function pointDist(p, mp) {
  if (inside(p, mp)) return 0;
  let m = Infinity;
  for (const [a, b] of edges(mp)) m = Math.min(m, edgeMin(p, a, b));
  return m;
}
function segsCross(a, b, c, d) {
  const o = (p, q, r) => Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  return o(a, b, c) * o(a, b, d) < 0 && o(c, d, a) * o(c, d, b) < 0;
}
function polyDist(v, mp) {
  const ve = edges(v), se = edges(mp);
  for (const poly of v) for (const p of poly[0]) if (inside(p, mp)) return 0;
  for (const poly of mp) for (const p of poly[0]) if (inside(p, v)) return 0;
  for (const [a, b] of ve) for (const [c, d] of se) if (segsCross(a, b, c, d)) return 0;
  let m = Infinity;
  for (const poly of v) for (const ring of poly) for (const p of ring) for (const [a, b] of se) m = Math.min(m, edgeMin(p, a, b));
  for (const poly of mp) for (const ring of poly) for (const p of ring) for (const [a, b] of ve) m = Math.min(m, edgeMin(p, a, b));
  return m;
}
// footprint is a venue's 20 m × 14 m rectangle centred at c, turned by az.
function footprint(c, az) {
  const h = [[-10, -7], [10, -7], [10, 7], [-10, 7]];
  const rad = (az * Math.PI) / 180;
  const ring = h.map(([e, n]) => {
    const e2 = e * Math.cos(rad) + n * Math.sin(rad), n2 = -e * Math.sin(rad) + n * Math.cos(rad);
    return at(c, (Math.atan2(e2, n2) * 180) / Math.PI, Math.hypot(e2, n2)).map(r7);
  });
  return [[close(ring)]];
}

// (b) point-to-polygon and polygon-to-polygon minimum distances.
const polygons = [];
for (const c of cities) {
  const o = [c.lng, c.lat];
  for (const [kind, mp] of Object.entries(shapes(o))) {
    if (kind === 'star_km' && c.name === 'guangzhou') continue;
    const points = [], venues = [];
    const addP = (p, why) => points.push({ p, why, dist: pointDist(p, mp), inside: inside(p, mp) });
    for (let b = 0; b < 360; b += 45) {
      const rs = kind === 'star_km' ? [300, 1500, 2600, 4000] : [10, 60, 140, 230, 420, 900, 3000];
      for (const r of rs) addP(at(o, b + 7, r).map(r7), 'bearing');
    }
    for (const [a, b] of edges(mp)) {
      const line = geod.InverseLine(a[1], a[0], b[1], b[0]);
      const mid = line.Position(line.s13 / 2);
      const m = [mid.lon2, mid.lat2].map(r7);
      addP(m, 'on_edge');
      addP(a, 'vertex');
      // outward and inward normals of the edge; the 200 m ± 1 m points.
      for (const side of [90, -90]) {
        const az = mid.azi2 + side;
        for (const d of [199, 199.5, 200.5, 201, 35]) addP(at(m, az, d).map(r7), 'normal_' + d);
      }
      if (kind !== 'star_km') {
        const fa = mid.azi2 + 90;
        for (const d of [0, 150, 205, 207.5, 600]) {
          const v = footprint(at(m, fa, d), mid.azi2);
          venues.push({ venue: v, why: 'footprint_' + d, dist: polyDist(v, mp) });
          if (d > 150) continue; // deeper inside is 0 again, or across the campus
          const w = footprint(at(m, fa - 180, d), mid.azi2);
          venues.push({ venue: w, why: 'footprint_in_' + d, dist: polyDist(w, mp) });
        }
      }
    }
    polygons.push({ city: c.name, kind, school: mp, points, venues });
  }
}
// (c) point-to-segment distances for single geodesic edges of 0.5–5 km at
// latitudes 20–45°, the points at several offsets and along-track positions
// (before the start, along the edge, past the end).
const segments = [];
for (let k = 0; k < 40; k++) {
  const a = [r7(100 + rand() * 30), r7(20 + rand() * 25)];
  const len = 500 + rand() * 4500;
  const b = at(a, rand() * 360, len).map(r7);
  const line = geod.InverseLine(a[1], a[0], b[1], b[0]);
  const points = [];
  segments.push({ a, b, points });
  for (const u of [-0.1, 0, 0.13, 0.5, 0.77, 1, 1.05]) {
    const q = line.Position(line.s13 * Math.min(1, Math.max(0, u)));
    let foot = [q.lon2, q.lat2];
    if (u < 0) foot = at(a, line.azi1 + 180, -u * line.s13);
    if (u > 1) foot = at(b, q.azi2, (u - 1) * line.s13);
    for (const off of [0.3, 12, 199, 201, 800]) {
      const side = rand() < 0.5 ? 90 : -90;
      const p = at(foot, q.azi2 + side, off).map(r7);
      points.push({ p, dist: edgeMin(p, a, b) });
    }
  }
}

// (d) nearly antipodal pairs, where Vincenty's iteration fails and the Go
// code falls back to an approximation: checked only loosely.
const antipodal = [];
for (const c of cities) {
  for (const [dl, dp] of [[0, 0], [0.3, -0.2], [-0.5, 0.4], [0.05, 0.01]]) {
    const p1 = [c.lng, c.lat], p2 = [r7(c.lng - 180 + dl), r7(-c.lat + dp)];
    antipodal.push({ p1, p2, s12: inv(p1, p2).s12 });
  }
}
const p1eq = [0, 0], p2eq = [179.7, 0.2];
antipodal.push({ p1: p1eq, p2: p2eq, s12: inv(p1eq, p2eq).s12 });

const round = (k, v) => (typeof v === 'number' ? Math.round(v * 1e8) / 1e8 : v);
process.stdout.write(JSON.stringify({
  source: 'geographiclib-geodesic ' + require('geographiclib-geodesic/package.json').version + ' (C. F. F. Karney), testdata/gen/gen.mjs',
  inverse, polygons, segments, antipodal,
}, round) + '\n');
