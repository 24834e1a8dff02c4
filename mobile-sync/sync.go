package mobilesync

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/patrolhq/patrol/schema"
)

// SyncReport says what one Sync moved, for the person holding the device.
type SyncReport struct {
	Pulled           int   `json:"pulled"`            // changes applied from the server
	Pushed           int   `json:"pushed"`            // mutations answered and cleared from the outbox
	Conflicts        int   `json:"conflicts"`         // of Pushed: recorded as conflicts (see Answers)
	Rejected         int   `json:"rejected"`          // of Pushed: refused with a reason (see Answers)
	PendingMutations int   `json:"pending_mutations"` // still in the outbox afterwards
	PhotosUploaded   int   `json:"photos_uploaded"`
	PhotoBytes       int64 `json:"photo_bytes"`
	Reset            bool  `json:"reset"` // the server recomputed what this device may see
}

// PhotoUploader replaces the built-in photo upload (a test double, or an
// app that hands uploads to the platform's background transfer service).
// Sync calls it after records went up and came down, so that the server
// already knows which inspections expect which photos.
type PhotoUploader interface {
	UploadPending(ctx context.Context, d *Device) (files int, bytes int64, err error)
}

// SetPhotoUploader installs the uploader Sync calls after pulling; nil
// restores the built-in resumable uploader.
func (d *Device) SetPhotoUploader(u PhotoUploader) {
	d.syncMu.Lock()
	d.photos = u
	d.syncMu.Unlock()
}

// Sync pushes the outbox, then pulls every page of changes, then uploads
// pending photos. Whatever fails, nothing local is lost: unanswered
// mutations stay queued and the cursor only moves with an applied page.
func (d *Device) Sync(ctx context.Context) (SyncReport, error) {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	var rep SyncReport
	err := d.sync(ctx, &rep)
	if n, cerr := d.pending(ctx); cerr == nil {
		rep.PendingMutations = n
	}
	if err != nil {
		return rep, fmt.Errorf("sync: %w", err)
	}
	return rep, nil
}

func (d *Device) sync(ctx context.Context, rep *SyncReport) error {
	m, err := readMeta(ctx, d.db.R)
	if err != nil {
		return err
	}
	id, err := identityOf(m)
	if err != nil {
		return err
	}
	c := creds{Identity: id, token: m[metaToken]}
	if err := d.push(ctx, c, rep); err != nil {
		return err
	}
	if err := d.pull(ctx, c, rep); err != nil {
		return err
	}
	if d.photos != nil {
		files, n, err := d.photos.UploadPending(ctx, d)
		rep.PhotosUploaded += files
		rep.PhotoBytes += n
		if err != nil {
			return fmt.Errorf("photos: %w", err)
		}
	} else if err := d.uploadPhotos(ctx, c, rep); err != nil {
		return err
	}
	return d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		return putMeta(ctx, tx, metaLastSync, schema.FormatTime(d.Clock().Physical()))
	})
}

func (d *Device) pending(ctx context.Context) (int, error) {
	var n int
	err := d.db.R.QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}

// Enroll redeems a one-time enrolment code at the server and stores the
// device's identity and token. Enrolling again (after a revoked token)
// keeps all local work; enrolling for another server or inspector also
// forgets the rows the previous identity pulled.
func (d *Device) Enroll(ctx context.Context, serverURL, code, deviceName string) error {
	base, err := normalizeServerURL(serverURL)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return fmt.Errorf("enroll: %w", schema.Errorf(schema.CodeInvalid, "no enrolment code given; ask your squad leader for one"))
	}
	if deviceName = strings.TrimSpace(deviceName); deviceName == "" {
		deviceName, _ = os.Hostname()
	}
	body, err := json.Marshal(schema.EnrollRequest{Code: code, DeviceName: deviceName})
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	var resp schema.EnrollResponse
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	tm, err := d.post(ctx, exchange{serverURL: base, path: schema.PathEnroll, body: body}, &resp)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	if resp.DeviceID == "" || resp.Token == "" {
		return fmt.Errorf("enroll: %w", schema.Errorf(schema.CodeInternal, "the server's answer has no device id or token"))
	}
	offset := d.observe(tm, resp.ServerTime, "")
	err = d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		old, err := readMeta(ctx, tx)
		if err != nil {
			return err
		}
		if old[metaServerURL] != base || old[metaUsername] != resp.Username {
			if err := dropServerRows(ctx, tx); err != nil {
				return err
			}
			if err := putMeta(ctx, tx, metaCursor, ""); err != nil {
				return err
			}
		}
		if n, _ := strconv.Atoi(old[metaRecordCount]); resp.RecordCount > n {
			// Records this inspector's other devices numbered already.
			if err := putMeta(ctx, tx, metaRecordCount, strconv.Itoa(resp.RecordCount)); err != nil {
				return err
			}
		}
		for k, v := range map[string]string{
			metaDeviceID: resp.DeviceID, metaToken: resp.Token, metaUsername: resp.Username,
			metaSquadID: strconv.FormatInt(resp.SquadID, 10), metaServerURL: base, metaDeviceName: deviceName,
			metaOffsetMS: strconv.FormatInt(offset, 10),
		} {
			if err := putMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	d.setNode(resp.DeviceID)
	return nil
}

// normalizeServerURL accepts "https://host[:port][/prefix]" and returns it
// without a trailing slash.
func normalizeServerURL(s string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", schema.Errorf(schema.CodeInvalid, "server URL %q must look like https://patrol.example.org", s)
	}
	return s, nil
}
