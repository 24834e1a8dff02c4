package geo

import "math"

// WGS-84 ellipsoid: the datum of GPS fixes and of every geometry this
// package measures.
const (
	// EarthA is the WGS-84 equatorial radius in metres.
	EarthA = 6378137.0
	// EarthF is the WGS-84 flattening.
	EarthF = 1 / 298.257223563
	earthB = EarthA * (1 - EarthF)
)

const deg = math.Pi / 180

// Inverse solves the inverse geodesic problem on the WGS-84 ellipsoid: the
// length s12 in metres of the shortest path from p1 to p2 and its azimuths
// (degrees clockwise from north) at p1 and at p2.
//
// It uses Vincenty's iteration (1975), accurate to a fraction of a
// millimetre for every pair that is not nearly antipodal — far more than a
// 200 m fence needs. Vincenty's iteration does not converge for nearly
// antipodal points (more than about 19,000 km apart); for them Inverse falls
// back to a slower shooting method (antipodalInverse) rather than failing:
// such pairs never occur in a zone check, but a NaN must never reach a rule.
func Inverse(p1, p2 Point) (s12, azi1, azi2 float64) {
	if !finite(p1) || !finite(p2) {
		return math.NaN(), math.NaN(), math.NaN() // see Validate
	}
	lat1, lat2 := p1[1]*deg, p2[1]*deg
	L := remainder(p2[0]-p1[0]) * deg
	sinU1, cosU1 := reducedLat(lat1)
	sinU2, cosU2 := reducedLat(lat2)

	lambda := L
	var sinSigma, cosSigma, sigma, sinAlpha, cos2Alpha, cos2SigmaM float64
	converged := false
	for i := 0; i < 200; i++ {
		sinLambda, cosLambda := math.Sincos(lambda)
		t1 := cosU2 * sinLambda
		t2 := cosU1*sinU2 - sinU1*cosU2*cosLambda
		sinSigma = math.Hypot(t1, t2)
		if sinSigma == 0 {
			return 0, 0, 0 // coincident points
		}
		cosSigma = sinU1*sinU2 + cosU1*cosU2*cosLambda
		sigma = math.Atan2(sinSigma, cosSigma)
		sinAlpha = cosU1 * cosU2 * sinLambda / sinSigma
		cos2Alpha = 1 - sinAlpha*sinAlpha
		cos2SigmaM = 0
		if cos2Alpha != 0 { // not an equatorial line
			cos2SigmaM = cosSigma - 2*sinU1*sinU2/cos2Alpha
		}
		C := EarthF / 16 * cos2Alpha * (4 + EarthF*(4-3*cos2Alpha))
		prev := lambda
		lambda = L + (1-C)*EarthF*sinAlpha*(sigma+C*sinSigma*(cos2SigmaM+C*cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)))
		if math.Abs(lambda) > math.Pi {
			break // the iteration has left the sphere: nearly antipodal
		}
		if math.Abs(lambda-prev) < 1e-13 {
			converged = true
			break
		}
	}
	if !converged {
		return antipodalInverse(p1, p2)
	}
	uSq := cos2Alpha * (EarthA*EarthA - earthB*earthB) / (earthB * earthB)
	A, B := vincentyAB(uSq)
	dSigma := deltaSigma(B, sinSigma, cosSigma, cos2SigmaM)
	s12 = earthB * A * (sigma - dSigma)
	sinLambda, cosLambda := math.Sincos(lambda)
	azi1 = math.Atan2(cosU2*sinLambda, cosU1*sinU2-sinU1*cosU2*cosLambda) / deg
	azi2 = math.Atan2(cosU1*sinLambda, -sinU1*cosU2+cosU1*sinU2*cosLambda) / deg
	return s12, azi1, azi2
}

// Direct solves the direct geodesic problem: the point reached from p1 by
// going s12 metres along the geodesic that leaves p1 at azimuth azi1
// (degrees). Point-to-segment distances walk along a school's edge with it.
func Direct(p1 Point, azi1, s12 float64) Point {
	sinA1, cosA1 := math.Sincos(azi1 * deg)
	sinU1, cosU1 := reducedLat(p1[1] * deg)
	sigma1 := math.Atan2(sinU1, cosU1*cosA1)
	sinAlpha := cosU1 * sinA1
	cos2Alpha := 1 - sinAlpha*sinAlpha
	uSq := cos2Alpha * (EarthA*EarthA - earthB*earthB) / (earthB * earthB)
	A, B := vincentyAB(uSq)

	sigma := s12 / (earthB * A)
	var sinSigma, cosSigma, cos2SigmaM float64
	for i := 0; i < 100; i++ {
		cos2SigmaM = math.Cos(2*sigma1 + sigma)
		sinSigma, cosSigma = math.Sincos(sigma)
		next := s12/(earthB*A) + deltaSigma(B, sinSigma, cosSigma, cos2SigmaM)
		if math.Abs(next-sigma) < 1e-13 {
			sigma = next
			break
		}
		sigma = next
	}
	cos2SigmaM = math.Cos(2*sigma1 + sigma)
	sinSigma, cosSigma = math.Sincos(sigma)
	x := sinU1*sinSigma - cosU1*cosSigma*cosA1
	lat2 := math.Atan2(sinU1*cosSigma+cosU1*sinSigma*cosA1, (1-EarthF)*math.Hypot(sinAlpha, x))
	lambda := math.Atan2(sinSigma*sinA1, cosU1*cosSigma-sinU1*sinSigma*cosA1)
	C := EarthF / 16 * cos2Alpha * (4 + EarthF*(4-3*cos2Alpha))
	L := lambda - (1-C)*EarthF*sinAlpha*(sigma+C*sinSigma*(cos2SigmaM+C*cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)))
	return Point{remainder(p1[0] + L/deg), lat2 / deg}
}

// reducedLat is the sine and cosine of the reduced (parametric) latitude,
// computed from tan so that it stays exact near the equator.
func reducedLat(lat float64) (sinU, cosU float64) {
	tanU := (1 - EarthF) * math.Tan(lat)
	cosU = 1 / math.Sqrt(1+tanU*tanU)
	sinU = tanU * cosU
	if math.Abs(lat) == math.Pi/2 { // tan is infinite at the poles
		return math.Copysign(1, lat), 0
	}
	return sinU, cosU
}

func vincentyAB(uSq float64) (A, B float64) {
	A = 1 + uSq/16384*(4096+uSq*(-768+uSq*(320-175*uSq)))
	B = uSq / 1024 * (256 + uSq*(-128+uSq*(74-47*uSq)))
	return A, B
}

func deltaSigma(B, sinSigma, cosSigma, cos2SigmaM float64) float64 {
	c2 := cos2SigmaM * cos2SigmaM
	return B * sinSigma * (cos2SigmaM + B/4*(cosSigma*(-1+2*c2)-B/6*cos2SigmaM*(-3+4*sinSigma*sinSigma)*(-3+4*c2)))
}

// remainder brings a longitude (or a longitude difference) into [-180, 180).
func remainder(x float64) float64 {
	y := math.Mod(x+180, 360)
	if y < 0 {
		y += 360
	}
	return y - 180
}

// antipodalInverse solves the inverse problem where Vincenty's iteration
// fails, by shooting: for a trial azimuth az at p1, walk half-way (10,000
// km) along the geodesic with Direct, then measure the rest with Inverse
// (both legs are far from antipodal, so Vincenty converges on them). By the
// triangle inequality the sum is at least the shortest distance, with
// equality exactly when the walk lies on a shortest geodesic, so the
// minimum over az is the answer. A scan at 1° finds the valley and a
// golden-section search narrows it to 1e-9°; slow (about 400 solutions),
// but only points 19,000 km apart ever come here.
func antipodalInverse(p1, p2 Point) (s12, azi1, azi2 float64) {
	const half = 10_000_000.0
	g := func(az float64) float64 {
		d, _, _ := Inverse(Direct(p1, az, half), p2)
		return half + d
	}
	bestAz, best := 0.0, math.Inf(1)
	for az := -180.0; az < 180; az++ {
		if v := g(az); v < best {
			bestAz, best = az, v
		}
	}
	az, v := golden(g, bestAz-1, bestAz+1, 1e-9)
	_, _, azi2 = Inverse(Direct(p1, az, half), p2)
	return v, remainder(az), azi2
}

func finite(p Point) bool {
	return !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && !math.IsInf(p[0], 0) && !math.IsInf(p[1], 0)
}
