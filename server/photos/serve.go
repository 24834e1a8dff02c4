package photos

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/storage"
)

// headPhoto tells whether a photo is stored, to whoever may read it and to
// a device whose claim to it is proven (so a photo already stored is never
// sent again).
func (s *Service) headPhoto(c echo.Context, acc Access) error {
	sha, err := shaParam(c)
	if err != nil {
		return err
	}
	if err := acc.CanRead(c, sha); err != nil {
		// A device with a pending claim is not told: that is the answer
		// it would get about any photo it has not sent.
		if up, uerr := acc.CanUpload(c, sha); uerr != nil || !up.Proven {
			return err
		}
	}
	p, err := s.Records.Photo(c.Request().Context(), sha)
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeNotFound {
			return err
		}
		return s.internal("look up", sha, err)
	}
	h := c.Response().Header()
	h.Set("Content-Length", strconv.FormatInt(p.Size, 10))
	h.Set("Content-Type", p.MediaType)
	h.Set("ETag", `"`+sha+`"`)
	h.Set("Accept-Ranges", "bytes")
	return c.NoContent(http.StatusOK)
}

// readable resolves the photo a read route names, after the caller's
// right to read it is checked.
func (s *Service) readable(c echo.Context, acc Access) (string, store.Photo, error) {
	sha, err := shaParam(c)
	if err != nil {
		return "", store.Photo{}, err
	}
	if err := acc.CanRead(c, sha); err != nil {
		return "", store.Photo{}, err
	}
	p, err := s.Records.Photo(c.Request().Context(), sha)
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeNotFound {
			return "", store.Photo{}, err
		}
		return "", store.Photo{}, s.internal("look up", sha, err)
	}
	return sha, p, nil
}

// getPhoto serves the original bytes, with ETag and range support.
func (s *Service) getPhoto(c echo.Context, acc Access) error {
	sha, p, err := s.readable(c, acc)
	if err != nil {
		return err
	}
	return s.serveBlob(c, sha, p.MediaType)
}

// getThumb serves the thumbnail of a photo, making it first when it is
// missing. A photo that can have none gets the verdict recorded with it
// (422 undecodable, 413 too_large), never a 503 that would last forever.
func (s *Service) getThumb(c echo.Context, acc Access) error {
	sha, p, err := s.readable(c, acc)
	if err != nil {
		return err
	}
	if p.ThumbKey == "" && p.ThumbState == "" && decodable(p.MediaType) {
		// Not made yet (queued, or the server stopped first): make it now.
		var v *thumbVerdict
		switch p.ThumbKey, err = s.thumbnailFromStore(c.Request().Context(), p); {
		case errors.As(err, &v):
			p.ThumbState, p.ThumbReason = v.state, v.reason
		case errors.Is(err, errThumbBusy):
			secs := strconv.Itoa(max(1, int(s.thumbWait().Seconds())))
			c.Response().Header().Set("Retry-After", secs)
			return schema.Errorf(schema.CodeUnavailable, "the server is busy making other thumbnails; retry in %s s, or fetch the original at %s/%s",
				secs, schema.PathPhotos, sha)
		case err != nil:
			s.logger().Warn("photos: thumbnail from store", "sha256", sha, "err", err)
			return schema.Errorf(schema.CodeUnavailable, "the thumbnail of photo %s cannot be made right now; fetch the original at %s/%s", short(sha), schema.PathPhotos, sha)
		}
	}
	switch p.ThumbState {
	case "":
	case ThumbTooLarge:
		return schema.Errorf(schema.CodeTooLarge, "photo %s is too large to thumbnail on this server (%s); the original is kept as received at %s/%s",
			short(sha), p.ThumbReason, schema.PathPhotos, sha)
	case ThumbUnsupported:
		return schema.Errorf(schema.CodeUndecodable, "photo %s uses an image feature the server cannot decode (%s), so it has no thumbnail; the original is kept as received at %s/%s",
			short(sha), p.ThumbReason, schema.PathPhotos, sha)
	default:
		return schema.Errorf(schema.CodeUndecodable, "the image data of photo %s is corrupt (%s), so it has no thumbnail; the original is kept as received at %s/%s",
			short(sha), p.ThumbReason, schema.PathPhotos, sha)
	}
	if p.ThumbKey == "" {
		return schema.Errorf(schema.CodeNotFound, "photo %s (%s) has no thumbnail; fetch the original at %s/%s",
			short(sha), p.MediaType, schema.PathPhotos, sha)
	}
	return s.serveBlob(c, p.ThumbKey, mediaJPEG)
}

// serveBlob streams a blob with http.ServeContent: the seekable object
// gives ranges (206) and the ETag gives conditional requests (304).
func (s *Service) serveBlob(c echo.Context, key, mediaType string) error {
	obj, err := s.Blobs.Open(c.Request().Context(), key)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			s.logger().Error("photos: recorded blob missing from the store", "key", key)
			return schema.Errorf(schema.CodeUnavailable, "the bytes of %s are missing from the photo store; an operator must restore them", short(key))
		}
		return s.internal("open", key, err)
	}
	defer obj.Close()
	h := c.Response().Header()
	h.Set("ETag", `"`+key+`"`)
	h.Set("Content-Type", mediaType)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	if c.Request().Header.Get(echo.HeaderAuthorization) == "" {
		// A browser on the session cookie (the workbench): the bytes never
		// change, but who may see them does, and a bureau's tablet passes
		// from one leader to the next. The browser asks again every time,
		// so the access check runs; the ETag answers 304 without the bytes.
		h.Set("Cache-Control", "private, no-cache")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	w := &errorCatcher{ResponseWriter: c.Response()}
	http.ServeContent(w, c.Request(), "", obj.Info().ModTime, obj)
	if w.status != 0 {
		h.Del("ETag")
		h.Del("Cache-Control")
		msg := strings.TrimSpace(w.msg.String())
		if msg == "" {
			msg = http.StatusText(w.status)
		}
		if w.status == http.StatusRequestedRangeNotSatisfiable {
			rng := c.Request().Header.Get("Range")
			if len(rng) > 60 {
				rng = rng[:60] + "…"
			}
			msg = fmt.Sprintf("Range %q asks for bytes outside the %d of %s (%s)", rng, obj.Info().Size, short(key), msg)
		}
		// The server's error handler answers with the status and the API's
		// JSON error body (an unsatisfiable range keeps its Content-Range).
		return echo.NewHTTPError(w.status, msg)
	}
	return nil
}

// errorCatcher passes http.ServeContent's answer through unless it is an
// error (416 for a range outside the photo, 412 for a failed If-Match):
// that one ServeContent writes as text/plain, so it is held back and turned
// into the API's error answer instead.
type errorCatcher struct {
	http.ResponseWriter
	status int
	msg    strings.Builder
}

func (w *errorCatcher) WriteHeader(code int) {
	if code >= 400 {
		w.status = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *errorCatcher) Write(b []byte) (int, error) {
	if w.status != 0 {
		if w.msg.Len() < 200 {
			w.msg.Write(b)
		}
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *errorCatcher) Unwrap() http.ResponseWriter { return w.ResponseWriter }
