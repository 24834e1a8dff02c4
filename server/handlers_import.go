package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/importer"
	"github.com/patrolhq/patrol/server/store"
)

// ImportRejected is the 400 answer to a file with bad records: the usual
// error and every record that failed, so that the whole file can be
// fixed at once.
type ImportRejected struct {
	Error    schema.Error     `json:"error"`
	Rejected store.Rejections `json:"rejected"`
}

// importFile imports a file of schools, venues or squad areas (admin): the
// body is the file itself, bounded like the file on the command line.
func (s *Server) importFile(c echo.Context) error {
	if err := requireAdmin(principal(c)); err != nil {
		return err
	}
	d, err := importer.ParseDatum(c.QueryParam("datum"))
	if err != nil {
		return err
	}
	dry, _ := strconv.ParseBool(c.QueryParam("dry_run"))
	body := http.MaxBytesReader(c.Response(), c.Request().Body, importer.DefaultLimits.MaxBytes)
	rep, err := importer.Import(c.Request().Context(), s.store, c.Param("what"), body, d, store.ImportOptions{DryRun: dry})
	var rej store.Rejections
	if errors.As(err, &rej) {
		var se *schema.Error
		errors.As(err, &se)
		return writeJSON(c, http.StatusBadRequest, ImportRejected{Error: *se, Rejected: rej})
	}
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, rep)
}
