package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/patrolhq/patrol/schema"
)

// A push is applied by two goroutines: a preparer decodes the mutations
// (from the body, when streamed), validates them, encodes the JSON columns
// of inspections and looks up the rows they will touch (chunkLoader),
// handing them over in chunks, while the one writer applies each chunk
// inside the write transaction. On a machine with two cores the CPU work
// of a batch then hides behind its SQL.

// chunkSizes are the sizes of the chunks of a push. The writer reads and
// prepares the first itself, so that it never waits for the preparing
// goroutine to be scheduled; later ones amortize the per-chunk lookups.
var chunkSizes = [...]int{32, 32, 96, 128}

// chunkQueue is how many prepared chunks may wait for the writer.
const chunkQueue = 4

// preparedMutation is one mutation with the work the writer need not do:
// its validation answer and, for a valid inspection, its columns, row and
// insert arguments but for what only the writer can decide (its clock,
// time_suspect and seq).
type preparedMutation struct {
	m       schema.Mutation
	invalid error              // what schema.ValidateMutation said
	cols    *inspectionColumns // nil: the writer encodes the columns itself
	args    []any              // the row's insert arguments; nil: the writer makes them
	idArg   any                // the mutation id, boxed once for the statements
}

// inspectionColumns are the encoded columns of a device-authored inspection.
type inspectionColumns struct {
	inspectors, items string
	startedAt         string
	finishedAt        any // string or nil
}

type mutationChunk struct {
	muts    []preparedMutation
	lookups *chunkLookups // nil: the writer looks them up
	err     error         // the stream or a lookup failed; nothing after it
}

// pushSetup is what the writer hands the preparer once its transaction
// has begun.
type pushSetup struct {
	lookup schema.ChecklistLookup // the checklists of the write transaction
	now    string                 // the transaction's time as stored
}

// preparer prepares mutations, on the preparing goroutine or the writer's.
type preparer struct {
	in      *PushInput
	squad   int64
	setup   *pushSetup
	nowArg  any
	scratch []byte
}

// sliceStream yields an already decoded batch.
type sliceStream struct {
	muts []schema.Mutation
	next int
}

func (s *sliceStream) Next(m *schema.Mutation) (bool, error) {
	if s.next >= len(s.muts) {
		return false, nil
	}
	*m = s.muts[s.next]
	s.next++
	return true, nil
}

// readChunk reads up to size mutations of src into a new chunk; more
// reports whether src may hold further ones.
func readChunk(src MutationStream, size int) (c *mutationChunk, more bool) {
	c = &mutationChunk{muts: make([]preparedMutation, 0, size)}
	for len(c.muts) < size {
		c.muts = append(c.muts, preparedMutation{})
		ok, err := src.Next(&c.muts[len(c.muts)-1].m)
		if err != nil || !ok {
			c.muts = c.muts[:len(c.muts)-1]
			c.err = err
			return c, false
		}
	}
	return c, true
}

// prepareMutations runs on its own goroutine: it reads the rest of src
// (the writer reads the first chunk itself) and sends prepared chunks,
// with the rows they will look at, on out, which it closes. Validation and
// lookups wait for ready, after which *setup is set. It gives up when stop
// closes.
func (s *Store) prepareMutations(ctx context.Context, src MutationStream, in *PushInput, squad int64, ready <-chan struct{},
	setup *pushSetup, out chan<- *mutationChunk, stop <-chan struct{}) {
	defer close(out)
	send := func(c *mutationChunk) bool {
		select {
		case out <- c:
			return true
		case <-stop:
			return false
		}
	}
	var loader *chunkLoader
	defer func() {
		if loader != nil {
			loader.close()
		}
	}()
	// Lookup statements run without the request's cancellation (the driver
	// would start a watcher for each); the read transaction ends with it.
	lctx := context.WithoutCancel(ctx)
	var pr *preparer
	for n := 1; ; n++ {
		c, more := readChunk(src, chunkSizes[min(n, len(chunkSizes)-1)])
		if len(c.muts) == 0 {
			if c.err != nil {
				send(c)
			}
			return
		}
		if loader == nil {
			select {
			case <-ready:
			case <-stop:
				return
			}
			var err error
			if loader, err = newChunkLoader(ctx, s.db.R, squad); err != nil {
				send(&mutationChunk{err: err})
				return
			}
		}
		if pr == nil {
			pr = newPreparer(in, squad, setup)
		}
		for i := range c.muts {
			pr.prepare(&c.muts[i])
		}
		lookups, err := loader.load(lctx, c.muts)
		if err != nil {
			send(&mutationChunk{err: err})
			return
		}
		c.lookups = lookups
		if !more {
			// Release the read snapshot before the writer commits.
			loader.close()
			loader = nil
		}
		if !send(c) || !more {
			return
		}
	}
}

func newPreparer(in *PushInput, squad int64, setup *pushSetup) *preparer {
	return &preparer{in: in, squad: squad, setup: setup, nowArg: setup.now}
}

// prepare validates p and, for a valid inspection, encodes its columns and
// builds its row and insert arguments exactly as the writer would.
func (pr *preparer) prepare(p *preparedMutation) {
	p.idArg = p.m.ID
	p.invalid = schema.ValidateMutation(&p.m, pr.setup.lookup)
	in := p.m.Inspection
	if p.invalid != nil || p.m.Kind != schema.MutInspectionUpsert || in == nil {
		return
	}
	row := &inspectionRow{Inspection: *in, AuthorID: pr.in.UserID}
	row.SquadID = pr.squad
	row.DeviceID = pr.in.DeviceID
	// Items with photos are left to the writer, which also clears the
	// server-side received flag before it encodes them.
	b, ok := appendItemsJSON(pr.scratch[:0], in.Items)
	pr.scratch = b
	if !ok {
		return
	}
	items := string(b)
	b = appendInspectorsJSON(b[:0], in.Inspectors)
	pr.scratch = b
	row.cols = &inspectionColumns{inspectors: string(b), items: items, startedAt: schema.FormatTime(in.StartedAt),
		finishedAt: finishedArg(in.FinishedAt)}
	p.cols = row.cols
	row.HLC = p.m.HLC
	p.args = appendInspectionArgs(make([]any, 0, inspectionArgs), row, pr.nowArg)
}

// checklistCache keeps checklists parsed from their stored bodies, so
// that a push parses a version only when its body changed.
type checklistCache struct {
	mu     sync.Mutex
	parsed map[string]parsedChecklist
}

type parsedChecklist struct {
	body string
	c    *schema.Checklist // read only once cached
}

// parse returns the checklist stored as body, or false if it does not
// parse.
func (cc *checklistCache) parse(version, body string) (*schema.Checklist, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if p, ok := cc.parsed[version]; ok && p.body == body {
		return p.c, true
	}
	var c schema.Checklist
	if json.Unmarshal([]byte(body), &c) != nil {
		return nil, false
	}
	if cc.parsed == nil {
		cc.parsed = map[string]parsedChecklist{}
	}
	cc.parsed[version] = parsedChecklist{body: body, c: &c}
	return &c, true
}

// checklistSet reads every checklist version the server knows, stored or
// embedded, into a lookup that is safe to share between goroutines.
func (s *Store) checklistSet(ctx context.Context, q queryer) (schema.ChecklistLookup, error) {
	set := map[string]*schema.Checklist{}
	rows, err := q.QueryContext(ctx, `SELECT version, body FROM checklists`)
	if err != nil {
		return nil, fmt.Errorf("load checklists: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var version, body string
		if err := rows.Scan(&version, &body); err != nil {
			return nil, fmt.Errorf("load checklists: %w", err)
		}
		if c, ok := s.checklists.parse(version, body); ok {
			set[version] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load checklists: %w", err)
	}
	for _, c := range schema.Checklists() {
		if _, ok := set[c.Version]; !ok {
			set[c.Version] = &c
		}
	}
	return func(version string) (*schema.Checklist, bool) {
		c, ok := set[version]
		return c, ok
	}, nil
}
