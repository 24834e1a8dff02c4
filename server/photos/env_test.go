package photos_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/mobile-sync/photo"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/photos"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/storage"
)

// Tokens of the test Access: "dev:ID" is a device, "leader:N" a leader of
// squad N, "admin" an admin.
const (
	devA   = "dev:device-a"
	devB   = "dev:device-b"
	admin  = "admin"
	squad1 = int64(1)
)

// testAccess decides like the server core does: devices upload what their
// inspections name (proven or pending); leaders of the squads whose
// claims are proven, devices with a proven claim and admins read.
type testAccess struct{ st *sqlite.Store }

func token(c echo.Context) string {
	return strings.TrimPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
}

// deviceSquads are the squads of the test devices.
var deviceSquads = map[string]int64{"device-a": squad1, "device-b": 2, "device-c": 2}

func (a testAccess) CanUpload(c echo.Context, sha string) (photos.Upload, error) {
	dev, ok := strings.CutPrefix(token(c), "dev:")
	if !ok {
		return photos.Upload{}, schema.Errorf(schema.CodeForbidden, "only devices upload photos")
	}
	claim, err := a.st.DevicePhotoClaim(c.Request().Context(), dev, "", sha)
	if err != nil {
		return photos.Upload{}, err
	}
	if claim == "" {
		return photos.Upload{}, schema.Errorf(schema.CodeForbidden, "no inspection of device %s names photo %s", dev, sha[:12])
	}
	return photos.Upload{By: store.Uploader{DeviceID: dev, SquadID: deviceSquads[dev]}, Proven: claim == schema.ClaimProven}, nil
}

func (a testAccess) CanRead(c echo.Context, sha string) error {
	tok := token(c)
	if tok == admin {
		return nil
	}
	if dev, ok := strings.CutPrefix(tok, "dev:"); ok {
		if ok, err := a.st.DeviceReferencesPhoto(c.Request().Context(), dev, "", sha); err != nil || ok {
			return err
		}
	}
	if sq, ok := strings.CutPrefix(tok, "leader:"); ok {
		squads, err := a.st.SquadsReferencingPhoto(c.Request().Context(), sha)
		if err != nil {
			return err
		}
		for _, s := range squads {
			if fmt.Sprint(s) == sq {
				return nil
			}
		}
	}
	return schema.Errorf(schema.CodeNotFound, "no photo %s visible to you", sha[:12])
}

// errorHandler renders errors the way the server does: *schema.Error as
// an ErrorBody with the status of its code.
func errorHandler(err error, c echo.Context) {
	var se *schema.Error
	if !errors.As(err, &se) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			se = schema.Errorf(schema.CodeForStatus(he.Code), "%v", he.Message)
		} else {
			se = schema.Errorf(schema.CodeInternal, "%v", err)
		}
	}
	if c.Response().Committed {
		return
	}
	status := schema.HTTPStatus(se.Code)
	if c.Request().Method == http.MethodHead {
		c.NoContent(status)
		return
	}
	c.JSON(status, schema.ErrorBody{Error: *se})
}

type env struct {
	t       *testing.T
	svc     *photos.Service
	st      *sqlite.Store
	db      *schema.DB // the store's database, for fixtures
	path    string
	blobs   storage.Store
	staging string
	// pieces, when set, is the shared staging blob store (with the
	// database's Uploads): the env then stages as several replicas do.
	pieces     storage.Store
	checkpoint int64
	now        func() time.Time
	srv        *httptest.Server
	client     *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	path := filepath.Join(dir, "server.db")
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db := st.DB()
	blobs, err := storage.NewLocal(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	// A transport like the default one: it waits for 100 Continue.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	e := &env{t: t, st: st, db: db, path: path, blobs: blobs, staging: filepath.Join(dir, "staging"), client: &http.Client{Transport: tr}}
	e.serve()
	insertFixtures(t, db)
	return e
}

// serve starts a photo service and its routes over the env's database,
// blob store and staging folder.
func (e *env) serve() {
	e.t.Helper()
	svc, err := photos.New(e.st, e.blobs, e.staging)
	if err != nil {
		e.t.Fatal(err)
	}
	svc.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	svc.Now = func() time.Time { return time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC) }
	if e.now != nil {
		svc.Now = e.now
	}
	if e.pieces != nil {
		svc.Uploads, svc.Staging = e.st, e.pieces
	}
	svc.Checkpoint = e.checkpoint
	ec := echo.New()
	ec.HideBanner = true
	ec.HTTPErrorHandler = errorHandler
	svc.Mount(ec.Group(schema.APIPrefix), testAccess{st: e.st})
	srv := httptest.NewServer(ec)
	e.t.Cleanup(srv.Close)
	e.t.Cleanup(svc.WaitThumbnails) // before the database and folders go
	e.svc, e.srv = svc, srv
}

// restart stops the photo service as a server shutdown does, reopens the
// database and serves the same data again with a new service.
func (e *env) restart() {
	e.t.Helper()
	e.srv.Close()
	e.svc.WaitThumbnails()
	if err := e.st.Close(); err != nil {
		e.t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), e.path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	e.st, e.db = st, st.DB()
	e.serve()
}

func insertFixtures(t *testing.T, db *schema.DB) {
	t.Helper()
	err := db.WriteTx(context.Background(), func(tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 'Squad 1', 0, 0, 1, 1), (2, 'Squad 2', 0, 0, 1, 1)`,
			`INSERT INTO venues (id, squad_id, kind, name, lat, lng, created_at, updated_at, seq) VALUES ('v1', 1, 'net_cafe', 'Cafe', 0.5, 0.5, '', '', 1), ('v2', 2, 'net_cafe', 'Cafe 2', 0.5, 0.5, '', '', 2)`,
		} {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// reference records that an inspection of device dev (squad) names sha,
// as the sync push does.
// reference makes an inspection of dev (of squad) name sha with a proven
// claim, as a record written before claims existed, or the squad's own
// photo, would.
func (e *env) reference(dev string, squad int64, sha string) {
	e.t.Helper()
	e.claim(dev, squad, sha, 1, schema.ClaimProven)
}

// claim makes an inspection of dev (of squad) name sha, declared with
// size bytes, with the given claim.
func (e *env) claim(dev string, squad int64, sha string, size int64, claim string) {
	e.t.Helper()
	dev = strings.TrimPrefix(dev, "dev:")
	insp := "insp-" + dev + "-" + sha[:8]
	err := e.db.WriteTx(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO inspections (id, venue_id, squad_id, device_id, author_id, checklist_version, status,
			inspectors, started_at, hlc, received_at, updated_at, seq)
			VALUES (?, ?, ?, ?, 'u1', 'nc16-2018.1', 'submitted', '[]', '', '', '', '', 1) ON CONFLICT (id) DO NOTHING`,
			insp, fmt.Sprintf("v%d", squad), squad, dev); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO inspection_items (inspection_id, item_id, position, result) VALUES (?, 'item-1', 0, 'fail')
			ON CONFLICT DO NOTHING`, insp); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO inspection_photos (inspection_id, item_id, position, sha256, size, media_type, captured_at, squad_id, device_id, claim)
			VALUES (?, 'item-1', (SELECT count(*) FROM inspection_photos WHERE inspection_id = ?), ?, ?, 'image/jpeg', '', ?, ?, ?)`,
			insp, insp, sha, size, squad, dev, claim)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// stagedFile is the path of a staged file of dev's upload of sha: uploads
// are staged per device, as {sha}.{device id}{suffix}.
func (e *env) stagedFile(dev, sha, suffix string) string {
	return filepath.Join(e.staging, sha+"."+strings.TrimPrefix(dev, "dev:")+suffix)
}

func (e *env) uploader(tok string) *photo.Uploader {
	return &photo.Uploader{BaseURL: e.srv.URL, Token: tok, Client: e.client}
}

// do sends a raw request to the test server.
func (e *env) do(method, path, tok string, body io.Reader, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// patch sends body as the bytes at offset of a photo of length bytes.
func (e *env) patch(tok, sha string, offset, length int64, body []byte) *http.Response {
	e.t.Helper()
	return e.do(http.MethodPatch, schema.PathUploads+"/"+sha, tok, bytes.NewReader(body), map[string]string{
		"Content-Type":            schema.ContentTypeUpload,
		schema.HeaderUploadOffset: fmt.Sprint(offset),
		schema.HeaderUploadLength: fmt.Sprint(length),
	})
}

// headOffset asks the server how many bytes of sha it holds.
func (e *env) headOffset(tok, sha string) int64 {
	e.t.Helper()
	resp := e.do(http.MethodHead, schema.PathUploads+"/"+sha, tok, nil, nil)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("HEAD upload: %s", resp.Status)
	}
	var n int64
	fmt.Sscan(resp.Header.Get(schema.HeaderUploadOffset), &n)
	return n
}

// assertNothingStored checks that sha left no blob, no row and no staging.
func (e *env) assertNothingStored(sha string) {
	e.t.Helper()
	if _, err := e.blobs.Stat(context.Background(), sha); !errors.Is(err, storage.ErrNotFound) {
		e.t.Errorf("blob %s: Stat err = %v, want not found", sha[:12], err)
	}
	if _, err := e.st.Photo(context.Background(), sha); schema.ErrorCode(err) != schema.CodeNotFound {
		e.t.Errorf("photo row %s: err = %v, want not_found", sha[:12], err)
	}
	e.assertStagingEmpty()
}

func (e *env) assertStagingEmpty() {
	e.t.Helper()
	e.svc.WaitThumbnails() // thumbnails are made from staged bytes after the answer
	entries, err := os.ReadDir(e.staging)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range entries {
		e.t.Errorf("staging still holds %s", en.Name())
	}
}

// storedBytes reads a blob back whole.
func (e *env) storedBytes(key string) []byte {
	e.t.Helper()
	obj, err := e.blobs.Open(context.Background(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func shaOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type nopSeekCloser struct{ io.ReadSeeker }

func (nopSeekCloser) Close() error { return nil }

func opener(b []byte) func() (io.ReadSeekCloser, error) {
	return func() (io.ReadSeekCloser, error) { return nopSeekCloser{bytes.NewReader(b)}, nil }
}

// noisy is a w×h image of random pixels (incompressible, so the encoded
// photo is large).
func noisy(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.Uint32())
	}
	return img
}

func jpegBytes(t testing.TB, w, h int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, noisy(w, h, seed), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pngBytes(t testing.TB, w, h int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, noisy(w, h, seed)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngChunk builds one PNG chunk with a valid CRC.
func pngChunk(typ string, data []byte) []byte {
	out := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(out, uint32(len(data)))
	copy(out[4:], typ)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// pixelBomb is a tiny PNG whose IHDR claims w×h pixels; all CRCs valid.
func pixelBomb(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	var idat bytes.Buffer   // one row of the one pixel the file really has
	zw := zlib.NewWriter(&idat)
	zw.Write(make([]byte, 4))
	zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", idat.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// box builds an ISO-BMFF box.
func box(typ string, payload ...[]byte) []byte {
	var body []byte
	for _, p := range payload {
		body = append(body, p...)
	}
	out := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(out, uint32(8+len(body)))
	copy(out[4:], typ)
	return append(out, body...)
}

// heicFile builds a minimal HEIC: ftyp, meta → iprp → ipco → ispe, mdat.
func heicFile(w, h uint32, seed byte) []byte {
	ispe := make([]byte, 12)
	binary.BigEndian.PutUint32(ispe[4:], w)
	binary.BigEndian.PutUint32(ispe[8:], h)
	ftyp := box("ftyp", []byte("heic"), []byte{0, 0, 0, 0}, []byte("mif1heic"))
	meta := box("meta", []byte{0, 0, 0, 0}, box("hdlr", make([]byte, 24)), box("iprp", box("ipco", box("ispe", ispe))))
	return append(append(ftyp, meta...), box("mdat", bytes.Repeat([]byte{seed}, 4096))...)
}
