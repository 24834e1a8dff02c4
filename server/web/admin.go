package web

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// notices are the fixed messages a redirect after a form names (?ok=),
// so that no text of the request is echoed into the page.
var notices = map[string]string{
	"created":  "用户已创建。",
	"disabled": "用户已停用，其登录会话已全部注销。",
	"enabled":  "用户已启用。",
	"password": "密码已重置，该用户的所有登录会话已注销。",
	"revoked":  "设备已注销，它将无法再同步。",
}

// usersData is the admin's list of users with the create form.
type usersData struct {
	Users  []store.User
	Notice string
	Form   userForm
	Error  string
}

// userForm is the create form as it was filled in.
type userForm struct {
	Username, DisplayName, BadgeNo, Role, Squad string
}

func (w *Web) usersPage(c echo.Context, p *auth.Principal) error {
	return w.showUsers(c, http.StatusOK, usersData{Notice: notices[c.QueryParam("ok")], Form: userForm{Role: schema.RoleInspector}})
}

func (w *Web) showUsers(c echo.Context, status int, d usersData) error {
	users, err := w.st.ListUsers(c.Request().Context(), store.UserFilter{})
	if err != nil {
		return err
	}
	d.Users = users
	return w.render(c, status, "users", "用户管理", d)
}

func (w *Web) createUser(c echo.Context, p *auth.Principal) error {
	f := c.Request().PostForm
	uf := userForm{Username: strings.TrimSpace(f.Get("username")), DisplayName: strings.TrimSpace(f.Get("display_name")),
		BadgeNo: strings.TrimSpace(f.Get("badge_no")), Role: f.Get("role"), Squad: strings.TrimSpace(f.Get("squad"))}
	bad := func(msg string) error {
		return w.showUsers(c, http.StatusBadRequest, usersData{Form: uf, Error: msg})
	}
	u := store.User{Username: auth.CanonicalUsername(uf.Username), DisplayName: uf.DisplayName, BadgeNo: uf.BadgeNo, Role: uf.Role}
	if uf.Squad != "" {
		n, err := strconv.ParseInt(uf.Squad, 10, 64)
		if err != nil || n <= 0 {
			return bad(accountMessages[schema.AccountBadSquad])
		}
		u.SquadID = &n
	}
	if prob, _ := schema.CheckAccount(schema.NewAccount{Username: u.Username, DisplayName: u.DisplayName, BadgeNo: u.BadgeNo,
		Role: u.Role, SquadID: u.SquadID}); prob != schema.AccountOK {
		return bad(accountMessages[prob])
	}
	pw := f.Get("password")
	if prob, _ := schema.CheckPassword(pw); prob != schema.AccountOK {
		return bad(accountMessages[prob])
	}
	hash, err := w.cfg.HashPassword(c.Request().Context(), pw)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if _, err := w.st.CreateUser(c.Request().Context(), u); err != nil {
		switch schema.ErrorCode(err) {
		case schema.CodeConflict:
			return bad("用户名 " + u.Username + " 已被使用。")
		case schema.CodeInvalid:
			return bad("中队 " + uf.Squad + " 不存在。")
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?ok=created")
}

// accountMessages word the account rules (schema.CheckAccount,
// CheckPassword, CheckSetDisabled) for the workbench.
var accountMessages = map[schema.AccountProblem]string{
	schema.AccountNameMissing:   "请填写用户名和姓名。",
	schema.AccountBadUsername:   "用户名只能包含小写字母、数字、点、下划线和连字符，最长 " + strconv.Itoa(schema.MaxUsernameLen) + " 个字符。",
	schema.AccountBadText:       "姓名或执法证号过长，或含有不允许的控制字符。",
	schema.AccountBadRole:       "请选择角色。",
	schema.AccountNeedsBadge:    "检查员和中队长须填写执法证号。",
	schema.AccountBadSquad:      "中队编号应为正整数；办公室/受理员不属于任何中队。",
	schema.AccountNeedsSquad:    "检查员和中队长须属于一个中队。",
	schema.AccountPasswordShort: "密码至少 " + strconv.Itoa(schema.MinPasswordLen) + " 个字符。",
	schema.AccountPasswordLong:  "密码过长。",
	schema.AccountSelfDisable:   "不能停用自己的账号。",
}

func (w *Web) disableUser(disabled bool) handler {
	return func(c echo.Context, p *auth.Principal) error {
		id := c.Param("id")
		if prob, err := schema.CheckSetDisabled(p.UserID, id, disabled); prob != schema.AccountOK {
			return Fail(schema.CodeInvalid, accountMessages[prob], err.Error())
		}
		if _, err := w.st.SetUserDisabled(c.Request().Context(), id, disabled); err != nil {
			return err
		}
		if disabled {
			return c.Redirect(http.StatusSeeOther, "/admin/users?ok=disabled")
		}
		return c.Redirect(http.StatusSeeOther, "/admin/users?ok=enabled")
	}
}

func (w *Web) resetPassword(c echo.Context, p *auth.Principal) error {
	pw := c.Request().PostForm.Get("password")
	if prob, err := schema.CheckPassword(pw); prob != schema.AccountOK {
		return Fail(schema.CodeInvalid, accountMessages[prob], err.Error())
	}
	hash, err := w.cfg.HashPassword(c.Request().Context(), pw)
	if err != nil {
		return err
	}
	if err := w.st.SetPassword(c.Request().Context(), c.Param("id"), hash); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?ok=password")
}

// devicesData is the list of devices with the enrollment form.
type devicesData struct {
	Devices    []store.Device
	Inspectors []store.User // who may get an enrollment code
	Notice     string
	CanEnroll  bool
	Now        time.Time
}

func (w *Web) devicesPage(c echo.Context, p *auth.Principal) error {
	sq, err := squadFilter(c, p)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	devs, err := w.st.ListDevices(ctx, store.DeviceFilter{SquadID: sq})
	if err != nil {
		return err
	}
	users, err := w.st.ListUsers(ctx, store.UserFilter{SquadID: sq})
	if err != nil {
		return err
	}
	d := devicesData{Devices: devs, Notice: notices[c.QueryParam("ok")], CanEnroll: w.cfg.EnrollmentCode != nil, Now: w.cfg.Now()}
	for _, u := range users {
		if u.SquadID != nil && !u.Disabled && u.Role != schema.RoleAdmin {
			d.Inspectors = append(d.Inspectors, u)
		}
	}
	return w.render(c, http.StatusOK, "devices", "设备管理", d)
}

func (w *Web) revokeDevice(c echo.Context, p *auth.Principal) error {
	id := c.Param("id")
	ctx := c.Request().Context()
	owner, err := w.st.DeviceOwner(ctx, id)
	if err != nil {
		return err
	}
	if !p.IsAdmin() && (owner.SquadID == nil || !p.CanSupervise(*owner.SquadID)) {
		return Fail(schema.CodeNotFound, "没有这台设备，或它不属于您的中队。", "device of another squad")
	}
	if err := w.st.RevokeDevice(ctx, id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/devices?ok=revoked")
}

// codeData is a freshly issued enrollment code, shown once.
type codeData struct {
	Code    string
	User    store.User
	Expires time.Time
	// QR is the code as a PNG data: URI. It is typed template.URL because
	// html/template refuses data: URIs in src; the bytes are made here from
	// the code alone, never from anything a request or device sent.
	QR template.URL
}

func (w *Web) issueCode(c echo.Context, p *auth.Principal) error {
	if w.cfg.EnrollmentCode == nil {
		return Fail(schema.CodeNotFound, "此服务器未开放设备注册。", "no enrollment")
	}
	username := auth.CanonicalUsername(c.Request().PostForm.Get("username"))
	ctx := c.Request().Context()
	u, err := w.st.UserByUsername(ctx, username)
	if err != nil && schema.ErrorCode(err) != schema.CodeNotFound {
		return err
	}
	if err != nil || u.SquadID == nil || !p.CanSupervise(*u.SquadID) {
		return Fail(schema.CodeNotFound, "您的中队没有这个用户。", "user not in scope")
	}
	code, exp, err := w.cfg.EnrollmentCode(ctx, u.Username, p.Username)
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(code, qrcode.Medium, 256)
	if err != nil {
		return err
	}
	var uri bytes.Buffer
	uri.WriteString("data:image/png;base64,")
	uri.WriteString(base64.StdEncoding.EncodeToString(png))
	return w.render(c, http.StatusOK, "code", "设备注册码", codeData{Code: code, User: u, Expires: exp, QR: template.URL(uri.String())})
}
