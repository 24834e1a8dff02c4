package mobilesync

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// enqueue appends a mutation to the outbox inside the caller's transaction.
// An inspection.upsert carries the full record, so it supersedes older
// snapshots of the same inspection still waiting — except those in flight,
// whose answer is on its way and must find its row.
func enqueue(ctx context.Context, tx *sql.Tx, m schema.Mutation, entityID string, now time.Time) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode mutation: %w", err)
	}
	if m.Kind == schema.MutInspectionUpsert {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE entity_id = ? AND kind = ? AND inflight = 0`,
			entityID, schema.MutInspectionUpsert); err != nil {
			return fmt.Errorf("compact outbox: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, kind, entity_id, body, created_at) VALUES (?, ?, ?, ?, ?)`,
		m.ID, m.Kind, entityID, string(body), schema.FormatTime(now)); err != nil {
		return fmt.Errorf("enqueue %s: %w", m.Kind, err)
	}
	return nil
}

// Status is what a person wants to know before leaving coverage: how much
// work is still only on this device, and how far its clock is off.
type Status struct {
	Enrolled          bool       `json:"enrolled"`
	DeviceID          string     `json:"device_id"`
	Username          string     `json:"username"`
	SquadID           int64      `json:"squad_id"`
	ServerURL         string     `json:"server_url"`
	PendingMutations  int        `json:"pending_mutations"`
	PendingPhotos     int        `json:"pending_photos"`
	PendingPhotoBytes int64      `json:"pending_photo_bytes"`
	Answers           int        `json:"answers"` // conflicts and rejections set aside
	LastSync          *time.Time `json:"last_sync"`
	ClockOffsetMS     int64      `json:"clock_offset_ms"` // device − server; positive: device ahead
}

// Status reads the device's state from one consistent snapshot.
func (d *Device) Status(ctx context.Context) (Status, error) {
	var st Status
	tx, err := d.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, fmt.Errorf("mobilesync: status: %w", err)
	}
	defer tx.Rollback()
	m, err := readMeta(ctx, tx)
	if err != nil {
		return st, fmt.Errorf("mobilesync: status: %w", err)
	}
	if id, err := identityOf(m); err == nil {
		st.Enrolled = true
		st.DeviceID, st.Username, st.SquadID, st.ServerURL = id.DeviceID, id.Username, id.SquadID, id.ServerURL
	}
	st.ClockOffsetMS, _ = strconv.ParseInt(m[metaOffsetMS], 10, 64)
	if t, err := schema.ParseTime(m[metaLastSync]); err == nil && !t.IsZero() {
		st.LastSync = &t
	}
	err = tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM outbox),
		(SELECT count(*) FROM photo_uploads WHERE uploaded = 0),
		(SELECT coalesce(sum(size), 0) FROM photo_uploads WHERE uploaded = 0),
		(SELECT count(*) FROM answers)`).Scan(&st.PendingMutations, &st.PendingPhotos, &st.PendingPhotoBytes, &st.Answers)
	if err != nil {
		return st, fmt.Errorf("mobilesync: status: %w", err)
	}
	return st, nil
}

// Answer is a mutation the server did not simply apply — a conflict or a
// rejection — set aside with its reason so that a person can see it.
type Answer struct {
	MutationID string                `json:"mutation_id"`
	Kind       string                `json:"kind"`
	EntityID   string                `json:"entity_id"`
	Outcome    string                `json:"outcome"` // conflict, rejected, or refused (a photo: Kind photo.upload, EntityID its SHA-256)
	Code       string                `json:"code,omitempty"`
	Reason     string                `json:"reason"`
	ConflictID string                `json:"conflict_id,omitempty"`
	AnsweredAt time.Time             `json:"answered_at"`
	Result     schema.MutationResult `json:"result"`
	Mutation   schema.Mutation       `json:"mutation"` // what was sent: the work is never lost
}

// answerBody is the stored form of an answer: the server's result and the
// mutation it answered.
type answerBody struct {
	Result   schema.MutationResult `json:"result"`
	Mutation schema.Mutation       `json:"mutation"`
}

// Answers lists conflicts and rejections, newest first.
func (d *Device) Answers(ctx context.Context) ([]Answer, error) {
	rows, err := d.db.R.QueryContext(ctx, `SELECT mutation_id, kind, entity_id, outcome, code, reason, body, answered_at
		FROM answers ORDER BY answered_at DESC, mutation_id DESC`)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: answers: %w", err)
	}
	defer rows.Close()
	out := []Answer{}
	for rows.Next() {
		var a Answer
		var body, at string
		if err := rows.Scan(&a.MutationID, &a.Kind, &a.EntityID, &a.Outcome, &a.Code, &a.Reason, &body, &at); err != nil {
			return nil, fmt.Errorf("mobilesync: answers: %w", err)
		}
		var ab answerBody
		if err := json.Unmarshal([]byte(body), &ab); err != nil {
			return nil, fmt.Errorf("mobilesync: answer %s: %w", a.MutationID, err)
		}
		a.Result, a.Mutation = ab.Result, ab.Mutation
		a.ConflictID = a.Result.ConflictID
		a.AnsweredAt, _ = schema.ParseTime(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mobilesync: answers: %w", err)
	}
	return out, nil
}
