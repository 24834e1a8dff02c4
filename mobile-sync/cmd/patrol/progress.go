package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
)

// photoBar draws photo upload progress (bytes and files) on a terminal.
type photoBar struct {
	w   io.Writer
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

func newPhotoBar(w io.Writer) *photoBar { return &photoBar{w: w} }

func (p *photoBar) update(pr mobilesync.PhotoProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(pr.TotalBytes, progressbar.OptionSetWriter(p.w), progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	p.bar.Describe(fmt.Sprintf("photo %d/%d", pr.File, pr.Files))
	_ = p.bar.Set64(pr.Bytes)
}

func (p *photoBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
