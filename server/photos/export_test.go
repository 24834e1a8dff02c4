package photos

import (
	"context"
	"time"
)

// HoldDecodeBudget takes the whole thumbnail decode budget, as decodes of
// other photos would, until release is called; thumbnail requests then
// wait at most wait.
func HoldDecodeBudget(s *Service, wait time.Duration) (release func()) {
	s.thumbWaitFor = wait
	p := s.pool()
	if err := p.acquire(context.Background(), p.budget); err != nil {
		panic(err)
	}
	return func() { p.release(p.budget) }
}
