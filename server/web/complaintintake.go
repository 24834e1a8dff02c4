package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// datetimeLayout is how a datetime-local input writes a time.
const datetimeLayout = "2006-01-02T15:04"

// intakeForm is the intake form as it was filled in, shown again when it
// is refused so that nothing typed is lost.
type intakeForm struct {
	Channel, Category, ReceivedAt, Contact, Venue, Place, Lat, Lng, Squad, Content string
	ReplyWanted                                                                    bool
}

// intakeData is the intake form with its choices.
type intakeData struct {
	Form       intakeForm
	Channels   []string
	Categories []string
	Groups     []venueGroup
	Squads     []int64
	MaxTime    string
	Error      string
	Reason     string // the store's refusal, in English
	MaxChars   int    // the content's bound in Chinese characters (three bytes each)
}

// venueGroup is one squad's venues in the venue picker.
type venueGroup struct {
	SquadID int64
	Venues  []schema.Venue
}

func (w *Web) intakePage(c echo.Context, p *auth.Principal) error {
	if !mayTakeIn(p) {
		return Fail(schema.CodeForbidden, "您的账号不能登记投诉。", "no intake")
	}
	now := w.cfg.Now().In(w.cfg.Zone)
	return w.showIntake(c, p, http.StatusOK, intakeData{Form: intakeForm{Channel: schema.Channel12345, Category: schema.CategoryCafe,
		ReceivedAt: now.Format(datetimeLayout)}})
}

func (w *Web) showIntake(c echo.Context, p *auth.Principal, status int, d intakeData) error {
	ctx := c.Request().Context()
	d.Channels, d.Categories, d.MaxChars = schema.ComplaintChannels, schema.ComplaintCategories, schema.MaxComplaintContent/3
	d.MaxTime = w.cfg.Now().In(w.cfg.Zone).Add(time.Minute).Format(datetimeLayout)
	var vf store.VenueFilter
	if p.Role == schema.RoleLeader {
		vf.SquadID = p.SquadID // a leader picks among the squad's venues, or describes the place
	}
	venues, err := w.st.ListVenues(ctx, vf)
	if err != nil {
		return err
	}
	slices.SortStableFunc(venues, func(a, b schema.Venue) int {
		if a.SquadID != b.SquadID {
			return int(a.SquadID - b.SquadID)
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, v := range venues {
		if len(d.Groups) == 0 || d.Groups[len(d.Groups)-1].SquadID != v.SquadID {
			d.Groups = append(d.Groups, venueGroup{SquadID: v.SquadID})
		}
		g := &d.Groups[len(d.Groups)-1]
		g.Venues = append(g.Venues, v)
	}
	if d.Squads, err = w.squads(c); err != nil {
		return err
	}
	return w.render(c, status, "complaintnew", "登记投诉", d)
}

// takeIn is the intake form's POST: checked here first so that the
// common mistakes are explained in Chinese, then by the store.
func (w *Web) takeIn(c echo.Context, p *auth.Principal) error {
	if !mayTakeIn(p) {
		return Fail(schema.CodeForbidden, "您的账号不能登记投诉。", "no intake")
	}
	form := c.Request().PostForm
	f := intakeForm{Channel: form.Get("channel"), Category: form.Get("category"), ReceivedAt: strings.TrimSpace(form.Get("received_at")),
		Contact: formText(form, "contact"), Venue: strings.TrimSpace(form.Get("venue")), Place: formText(form, "place"),
		Lat: strings.TrimSpace(form.Get("lat")), Lng: strings.TrimSpace(form.Get("lng")), Squad: form.Get("squad"),
		Content: formText(form, "content"), ReplyWanted: form.Get("reply_wanted") != ""}
	refuse := func(msg, reason string) error {
		return w.showIntake(c, p, http.StatusBadRequest, intakeData{Form: f, Error: msg, Reason: reason})
	}
	in := schema.ComplaintIntake{Channel: f.Channel, Category: f.Category, Contact: f.Contact, ReplyWanted: f.ReplyWanted,
		VenueID: f.Venue, Place: f.Place, Content: f.Content}
	now := w.cfg.Now()
	switch {
	case !slices.Contains(schema.ComplaintChannels, f.Channel):
		return refuse("请选择投诉渠道。", "")
	case !slices.Contains(schema.ComplaintCategories, f.Category):
		return refuse("请选择投诉类别。", "")
	case f.Content == "":
		return refuse("请填写投诉内容：投诉人反映的情况。", "")
	case len(f.Content) > schema.MaxComplaintContent:
		return refuse(fmt.Sprintf("投诉内容过长：最多 %d 字节（约 %d 个汉字），现有 %d 字节。请摘录要点，原件另行存档。",
			schema.MaxComplaintContent, schema.MaxComplaintContent/3, len(f.Content)), "")
	case len(f.Contact) > schema.MaxComplaintContact:
		return refuse(fmt.Sprintf("联系方式过长：最多 %d 字节。", schema.MaxComplaintContact), "")
	case len(f.Place) > schema.MaxComplaintPlace:
		return refuse(fmt.Sprintf("地点描述过长：最多 %d 字节（约 %d 个汉字）。", schema.MaxComplaintPlace, schema.MaxComplaintPlace/3), "")
	case f.Venue == "" && f.Place == "":
		return refuse("请从列表中选择被投诉的场所；不在列表中的，请填写地点描述。", "")
	case f.ReplyWanted && f.Contact == "":
		return refuse("投诉人要求答复时，请填写联系方式。", "")
	case (f.Lat == "") != (f.Lng == ""):
		return refuse("纬度和经度须同时填写，或都不填。", "")
	}
	if f.ReceivedAt != "" {
		t, err := time.ParseInLocation(datetimeLayout, f.ReceivedAt, w.cfg.Zone)
		if err != nil {
			return refuse("收到时间应为“年-月-日 时:分”，例如 2026-12-02 09:30。", "")
		}
		if t.After(now.Add(time.Minute)) {
			return refuse("收到时间不能晚于现在。", "")
		}
		in.ReceivedAt = t
	}
	if f.Lat != "" {
		lat, err1 := strconv.ParseFloat(f.Lat, 64)
		lng, err2 := strconv.ParseFloat(f.Lng, 64)
		if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
			return refuse("经纬度应为数字：纬度 −90 到 90，经度 −180 到 180，例如 35.16、118.34。", "")
		}
		in.Lat, in.Lng = &lat, &lng
	}
	if f.Squad != "" {
		n, err := strconv.ParseInt(f.Squad, 10, 64)
		if err != nil || n <= 0 {
			return refuse("请从列表中选择承办中队。", "")
		}
		in.SquadID = &n
	}
	if f.Venue == "" && in.Lat == nil && in.SquadID == nil {
		return refuse("只填写了地点描述时，请同时填写经纬度或指定承办中队，以便分派。", "")
	}
	out, err := w.st.CreateComplaint(c.Request().Context(), in, p.Username, w.cfg.ComplaintLimits)
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeInvalid {
			return refuse("投诉未能登记，原因如下。请修改后重新提交。", schemaMessage(err))
		}
		return err
	}
	if !complaintAccess(p).Read.Covers(out.SquadID) {
		return c.Redirect(http.StatusSeeOther, "/complaints?ok=received-elsewhere")
	}
	return c.Redirect(http.StatusSeeOther, "/complaints/"+out.ID)
}

// schemaMessage is the message of the *schema.Error inside err.
func schemaMessage(err error) string {
	var se *schema.Error
	if errors.As(err, &se) {
		return se.Message
	}
	return ""
}
