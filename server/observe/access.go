package observe

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

// ScrapeAccess guards /metrics, which shows district-wide counts (syncs,
// photos, conflicts, rejections) that are nobody's business outside
// operations. With a token, a scrape must carry Authorization: Bearer
// <token>, from anywhere; without one, only clients on a loopback address
// (a Prometheus or an operator on the same host) are served. The client
// address is the connection's own, never a forwarding header, so a reverse
// proxy on the same host would look local: set a token there.
func ScrapeAccess(token string) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token == "" {
				ap, err := netip.ParseAddrPort(c.Request().RemoteAddr)
				if err != nil || !ap.Addr().Unmap().IsLoopback() {
					return schema.Errorf(schema.CodeForbidden, "/metrics is served only to loopback clients; start the server with --metrics-token (PATROL_METRICS_TOKEN) to scrape it from elsewhere")
				}
				return next(c)
			}
			scheme, got, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return schema.Errorf(schema.CodeUnauthorized, "/metrics needs Authorization: Bearer <the server's --metrics-token>")
			}
			sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
			if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				return schema.Errorf(schema.CodeUnauthorized, "wrong metrics token; use the server's --metrics-token (PATROL_METRICS_TOKEN)")
			}
			return next(c)
		}
	}
}
