package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/importer"
	"github.com/patrolhq/patrol/server/store"
)

// importData is the upload form with the answer of the last upload.
type importData struct {
	Kind, Datum string
	DryRun      bool
	Report      *store.ImportReport
	Rejected    store.Rejections
	Error       string
}

// importKinds are the files an admin uploads, as the form names them.
var importKinds = map[string]string{importer.KindSchools: "学校", importer.KindVenues: "场所", importer.KindSquads: "中队辖区"}

func (w *Web) importPage(c echo.Context, p *auth.Principal) error {
	return w.render(c, http.StatusOK, "import", "数据导入", importData{Kind: importer.KindSchools, Datum: "wgs84"})
}

// importSubmit imports the uploaded file through the same reader and
// store calls as the command line and the API, and shows the report or
// every rejected record.
func (w *Web) importSubmit(c echo.Context, p *auth.Principal) error {
	f := c.Request().PostForm
	d := importData{Kind: f.Get("kind"), Datum: f.Get("datum"), DryRun: f.Get("dry_run") != ""}
	bad := func(status int) error {
		return w.render(c, status, "import", "数据导入", d)
	}
	if _, ok := importKinds[d.Kind]; !ok {
		d.Error = "请选择导入的数据类型。"
		return bad(http.StatusBadRequest)
	}
	datum, err := importer.ParseDatum(d.Datum)
	if err != nil {
		d.Error = "请选择文件的坐标系。"
		return bad(http.StatusBadRequest)
	}
	file, _, err := c.Request().FormFile("file")
	if err != nil {
		d.Error = "请选择要上传的文件。"
		return bad(http.StatusBadRequest)
	}
	defer file.Close()
	rep, err := importer.Import(c.Request().Context(), w.st, d.Kind, file, datum, store.ImportOptions{DryRun: d.DryRun})
	var rej store.Rejections
	switch {
	case errors.As(err, &rej):
		d.Rejected, d.Error = rej, "文件中有记录未通过校验，整个文件均未导入。请按下表逐条修正后重新上传。"
		return bad(http.StatusBadRequest)
	case schema.ErrorCode(err) == schema.CodeTooLarge:
		d.Error = "文件过大或记录、坐标过多，请拆分后分批导入。"
		return bad(http.StatusRequestEntityTooLarge)
	case schema.ErrorCode(err) == schema.CodeInvalid:
		d.Error = "文件无法读取：学校和中队辖区须为 GeoJSON FeatureCollection，场所须为 UTF-8 编码、首行为列名的 CSV。"
		return bad(http.StatusBadRequest)
	case err != nil:
		return err
	}
	d.Report = &rep
	return w.render(c, http.StatusOK, "import", "数据导入", d)
}
