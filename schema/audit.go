package schema

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Audit entity kinds: what an audit entry is about.
const (
	AuditInspection     = "inspection"
	AuditFinding        = "finding"
	AuditConflict       = "conflict"
	AuditUser           = "user"
	AuditDevice         = "device"
	AuditEnrollmentCode = "enrollment_code"
	AuditVenue          = "venue"
	AuditZoneRule       = "zone_rule"
	AuditSchool         = "school"
	AuditSquad          = "squad"
	AuditPlanVisit      = "plan_visit"
	AuditComplaint      = "complaint"
)

// AuditSystem is the actor of changes no request asked for (rollups,
// imports, the command line without a named operator).
const AuditSystem = "system"

// AuditEntry is one state change as the audit log keeps it: who (a
// username, "device:<id>" or "system"), when, from which address, on what
// entity, from what state to what and why. Entries form a hash chain:
// each Hash covers every other field and the previous entry's hash, so an
// entry altered, removed or inserted after the fact breaks the chain at
// that point (VerifyChain).
type AuditEntry struct {
	Seq        int64     `json:"seq"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Address    string    `json:"address"`
	EntityKind string    `json:"entity_kind"`
	EntityID   string    `json:"entity_id"`
	SquadID    *int64    `json:"squad_id"`
	Action     string    `json:"action"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Reason     string    `json:"reason"`
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

// auditDomain separates audit hashes from any other SHA-256 of the same
// bytes, and versions the encoding.
const auditDomain = "patrol-audit-v1"

// AuditHash is the hex SHA-256 of an entry chained to prev: over a
// canonical encoding of every field but Hash (e.PrevHash is replaced by
// prev), each field written as its byte length (8 bytes, big endian)
// followed by its bytes, so that no two different entries encode alike.
// Seq and SquadID are decimal (a nil SquadID is a field of length 0, told
// apart from every decimal); At is UTC RFC 3339 with nanoseconds, so a
// time read back from storage in another zone hashes the same.
func AuditHash(prev string, e AuditEntry) string {
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	squad := ""
	if e.SquadID != nil {
		squad = strconv.FormatInt(*e.SquadID, 10)
	}
	field(auditDomain)
	field(strconv.FormatInt(e.Seq, 10))
	field(e.At.UTC().Format(time.RFC3339Nano))
	field(e.Actor)
	field(e.Address)
	field(e.EntityKind)
	field(e.EntityID)
	field(squad)
	field(e.Action)
	field(e.From)
	field(e.To)
	field(e.Reason)
	field(prev)
	return hex.EncodeToString(h.Sum(nil))
}

// Why a chain breaks at an entry.
const (
	AuditHashMismatch = "hash mismatch"
	AuditPrevMismatch = "prev mismatch"
	AuditSeqGap       = "seq gap"
)

// ChainBreak is where an audit chain stops holding: the entry of Seq, what
// it is about, and Why (AuditHashMismatch, AuditPrevMismatch, AuditSeqGap)
// with Detail for a person.
type ChainBreak struct {
	Seq        int64
	EntityKind string
	EntityID   string
	Why        string
	Detail     string
}

// Error makes a ChainBreak an error naming the entry.
func (b *ChainBreak) Error() string {
	return fmt.Sprintf("audit entry %d (%s %s): %s: %s", b.Seq, b.EntityKind, b.EntityID, b.Why, b.Detail)
}

// ChainVerifier checks entries one at a time in seq order, so that a chain
// of any length is verified in bounded memory as it streams. Its zero
// value expects the chain from its start (seq 1, empty previous hash).
type ChainVerifier struct {
	lastSeq  int64
	lastHash string
	n        int64
}

// Check verifies the next entry and returns the break it finds, or nil.
// After a break the verifier keeps its state from before the entry.
func (v *ChainVerifier) Check(e AuditEntry) *ChainBreak {
	brk := func(why, format string, args ...any) *ChainBreak {
		return &ChainBreak{Seq: e.Seq, EntityKind: e.EntityKind, EntityID: e.EntityID, Why: why, Detail: fmt.Sprintf(format, args...)}
	}
	if e.Seq != v.lastSeq+1 {
		return brk(AuditSeqGap, "seq %d follows %d", e.Seq, v.lastSeq)
	}
	if e.PrevHash != v.lastHash {
		return brk(AuditPrevMismatch, "prev_hash %.12s… is not the hash %.12s… of entry %d", e.PrevHash, v.lastHash, v.lastSeq)
	}
	if want := AuditHash(e.PrevHash, e); e.Hash != want {
		return brk(AuditHashMismatch, "stored hash %.12s… is not %.12s… of the entry's fields", e.Hash, want)
	}
	v.lastSeq, v.lastHash = e.Seq, e.Hash
	v.n++
	return nil
}

// Count is how many entries held so far.
func (v *ChainVerifier) Count() int64 { return v.n }

// Head is the seq and hash of the last entry that held ("" before any).
func (v *ChainVerifier) Head() (int64, string) { return v.lastSeq, v.lastHash }

// VerifyChain checks a whole chain given in seq order from its start and
// returns the first entry that breaks it, or nil when it holds.
func VerifyChain(entries []AuditEntry) *ChainBreak {
	var v ChainVerifier
	for _, e := range entries {
		if b := v.Check(e); b != nil {
			return b
		}
	}
	return nil
}

// SealAudit sets e's PrevHash to prev and its Hash, the last step before
// an adapter stores the entry with its seq assigned.
func SealAudit(prev string, e AuditEntry) AuditEntry {
	e.PrevHash = prev
	e.Hash = AuditHash(prev, e)
	return e
}

// AuditCSVHeader is the header row of an audit export as CSV.
var AuditCSVHeader = []string{"seq", "at", "actor", "address", "entity_kind", "entity_id", "squad_id", "action", "from", "to", "reason", "prev_hash", "hash"}

// AuditCSVRecord is one entry as a CSV row under AuditCSVHeader. Text a
// device or a person wrote is hostile: a cell that a spreadsheet would run
// as a formula (starting with = + - @, a tab or a carriage return) is
// prefixed with a single quote.
func AuditCSVRecord(e AuditEntry) []string {
	squad := ""
	if e.SquadID != nil {
		squad = strconv.FormatInt(*e.SquadID, 10)
	}
	return []string{strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), csvCell(e.Actor), csvCell(e.Address),
		csvCell(e.EntityKind), csvCell(e.EntityID), squad, csvCell(e.Action), csvCell(e.From), csvCell(e.To), csvCell(e.Reason), e.PrevHash, e.Hash}
}

func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
