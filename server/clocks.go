package server

import (
	"sync"
	"time"
)

// clockSampleEvery is how often a pull records the device's clock offset.
// A push records it in its own transaction every time; a sync's pull pages
// that follow within this interval add nothing new and would only queue
// on the single writer behind a morning rush of pushes.
const clockSampleEvery = 30 * time.Second

// clockSamples remembers when each device's offset was last recorded.
type clockSamples struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// clockSampleDue reports whether a pull should record the device's offset
// now, and if so notes that it does.
func (s *Server) clockSampleDue(deviceID string, now time.Time) bool {
	s.clocks.mu.Lock()
	defer s.clocks.mu.Unlock()
	if s.clocks.last == nil {
		s.clocks.last = map[string]time.Time{}
	}
	if t, ok := s.clocks.last[deviceID]; ok && now.Sub(t) < clockSampleEvery && now.Sub(t) >= 0 {
		return false
	}
	s.clocks.last[deviceID] = now
	return true
}

// clockSampleRecorded notes a sample written with a push.
func (s *Server) clockSampleRecorded(deviceID string, now time.Time) {
	s.clocks.mu.Lock()
	defer s.clocks.mu.Unlock()
	if s.clocks.last == nil {
		s.clocks.last = map[string]time.Time{}
	}
	s.clocks.last[deviceID] = now
}
