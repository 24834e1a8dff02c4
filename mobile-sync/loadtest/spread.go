package loadtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// Spread returns a transport that sends each request to the next of
// servers in turn, as a round-robin load balancer in front of replicas of
// one server does: a request addressed to servers[0] (the base URL the
// devices enrolled with) is sent to the server whose turn it is, and
// anything else passes unchanged. Consecutive requests of one device — a
// push and the pull after it, an upload cut off and its resume — thus land
// on different replicas, which must behave as one server.
func Spread(next http.RoundTripper, servers []string) (http.RoundTripper, error) {
	if len(servers) == 0 {
		return nil, fmt.Errorf("loadtest: spread over no servers")
	}
	s := &spread{next: next}
	for _, raw := range servers {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("loadtest: server %q is not a base URL like http://host:port", raw)
		}
		s.bases = append(s.bases, u)
	}
	return s, nil
}

type spread struct {
	next  http.RoundTripper
	bases []*url.URL
	turn  atomic.Uint64
}

// RoundTrip implements http.RoundTripper.
func (s *spread) RoundTrip(req *http.Request) (*http.Response, error) {
	first := s.bases[0]
	rest, ok := strings.CutPrefix(req.URL.Path, first.Path)
	if !ok || req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return s.next.RoundTrip(req)
	}
	to := s.bases[(s.turn.Add(1)-1)%uint64(len(s.bases))]
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.URL.Path, out.URL.RawPath = to.Scheme, to.Host, to.Path+rest, ""
	out.Host = ""
	return s.next.RoundTrip(out)
}
