package schema

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"sync"
	"time"
)

//go:embed checklists/*.json
var checklistFS embed.FS

// Severities of checklist items.
const (
	SeverityCritical = "critical"
	SeverityMajor    = "major"
	SeverityMinor    = "minor"
)

// ChecklistItem is one point of a standard.
type ChecklistItem struct {
	ID      string `json:"id"`
	TitleZH string `json:"title_zh"`
	Title   string `json:"title"`
	Check   string `json:"check"`
	// CheckZH is what is checked, in Chinese, as pages and printed
	// documents show it.
	CheckZH    string `json:"check_zh,omitempty"`
	LegalBasis string `json:"legal_basis"`
	// LegalBasisZH is the legal basis as an order to correct cites it
	// (《条例》第二十条…), in Chinese.
	LegalBasisZH string `json:"legal_basis_zh,omitempty"`
	Severity     string `json:"severity"`
}

// Basis is the item's legal basis as Chinese documents cite it: the
// Chinese text when the checklist has one, else the short form.
func (it ChecklistItem) Basis() string {
	if it.LegalBasisZH != "" {
		return it.LegalBasisZH
	}
	return it.LegalBasis
}

// What is what the item checks, in Chinese when the checklist has it.
func (it ChecklistItem) What() string {
	if it.CheckZH != "" {
		return it.CheckZH
	}
	return it.Check
}

// Checklist is a versioned standard. Every inspection records the version
// it used, so a bureau can replace the text without rewriting history.
type Checklist struct {
	Version       string          `json:"version"`
	Title         string          `json:"title"`
	TitleZH       string          `json:"title_zh"`
	VenueKinds    []string        `json:"venue_kinds"`
	EffectiveFrom time.Time       `json:"effective_from"`
	Note          string          `json:"note,omitempty"`
	Items         []ChecklistItem `json:"items"`
}

// Item returns the item with id, or false.
func (c *Checklist) Item(id string) (ChecklistItem, bool) {
	for _, it := range c.Items {
		if it.ID == id {
			return it, true
		}
	}
	return ChecklistItem{}, false
}

// DefaultChecklistVersion is the version a device uses for new café
// inspections when the server has sent nothing newer.
const DefaultChecklistVersion = "nc16-2018.1"

// embedded holds the embedded checklists, parsed once: they are read on
// every validated inspection, and the embedded bytes never change.
var embedded struct {
	once sync.Once
	list []Checklist
	err  error
}

func embeddedChecklists() []Checklist {
	embedded.once.Do(func() { embedded.list, embedded.err = loadChecklists(checklistFS) })
	if embedded.err != nil {
		panic(embedded.err)
	}
	return embedded.list
}

// clone copies the slices of c, so that a caller may change what it got
// without changing the embedded data.
func (c Checklist) clone() Checklist {
	c.VenueKinds = slices.Clone(c.VenueKinds)
	c.Items = slices.Clone(c.Items)
	return c
}

// Checklists returns the embedded checklist versions, oldest version first.
// It panics only if the embedded data is broken, which a test guards.
func Checklists() []Checklist {
	src := embeddedChecklists()
	out := make([]Checklist, len(src))
	for i := range src {
		out[i] = src[i].clone()
	}
	return out
}

// ChecklistByVersion returns the embedded checklist of that version.
func ChecklistByVersion(version string) (Checklist, error) {
	for _, c := range embeddedChecklists() {
		if c.Version == version {
			return c.clone(), nil
		}
	}
	return Checklist{}, Errorf(CodeInvalid, "unknown checklist version %q", truncate(version, 64))
}

func loadChecklists(fsys fs.FS) ([]Checklist, error) {
	names, err := fs.Glob(fsys, "checklists/*.json")
	if err != nil {
		return nil, err
	}
	var out []Checklist
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		var c Checklist
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("schema: checklist %s: %w", n, err)
		}
		if c.Version == "" || len(c.Items) == 0 {
			return nil, fmt.Errorf("schema: checklist %s: empty version or items", n)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EffectiveFrom.Before(out[j].EffectiveFrom) })
	return out, nil
}
