package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// User is an account as the API shows it: never its password hash.
type User struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	BadgeNo     string `json:"badge_no"`
	Role        string `json:"role"`
	SquadID     *int64 `json:"squad_id"`
	Disabled    bool   `json:"disabled"`
}

func userOut(u store.User) User {
	return User{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, BadgeNo: u.BadgeNo, Role: u.Role, SquadID: u.SquadID, Disabled: u.Disabled}
}

// CreateUserRequest is the body of POST /api/v1/users. A leader may leave
// squad_id out: the user joins the leader's squad.
type CreateUserRequest struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	BadgeNo     string `json:"badge_no"`
	Role        string `json:"role"`
	SquadID     *int64 `json:"squad_id"`
	Password    string `json:"password"`
}

// SetDisabledRequest is the body of PATCH /api/v1/users/{id}.
type SetDisabledRequest struct {
	Disabled *bool `json:"disabled"`
}

// SetPasswordRequest is the body of POST /api/v1/users/{id}/password.
type SetPasswordRequest struct {
	Password string `json:"password"`
}

// ChangePasswordRequest is the body of POST /api/v1/me/password: the
// caller proves the current password before setting the new one.
type ChangePasswordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// Device is an enrolled device as the API shows it, with its owner and
// clock: when it last synced and how far its clock was off then.
type Device struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	UserID        string     `json:"user_id"`
	Username      string     `json:"username"`
	DisplayName   string     `json:"display_name"`
	SquadID       *int64     `json:"squad_id"`
	CreatedAt     time.Time  `json:"created_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
	LastSyncAt    *time.Time `json:"last_sync_at"`
	ClockOffsetMS *int64     `json:"clock_offset_ms"`
}

// listUsers answers GET /api/v1/users: an admin's of every squad (or of
// ?squad=), a leader's of their own squad.
func (s *Server) listUsers(c echo.Context) error {
	sq, limit, err := listScope(c)
	if err != nil {
		return err
	}
	f := store.UserFilter{SquadID: sq, Limit: limit}
	list, err := s.store.ListUsers(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]User, 0, len(list))
	for _, u := range list {
		out = append(out, userOut(u))
	}
	return writeJSON(c, http.StatusOK, out)
}

// createUser answers POST /api/v1/users with the account rules of the
// workbench's form (schema.CheckAccount, CheckPassword). A leader makes
// inspectors and leaders of their own squad only, never admins.
func (s *Server) createUser(c echo.Context) error {
	p := principal(c)
	if err := supervisor(p); err != nil {
		return err
	}
	var req CreateUserRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	u := store.User{Username: auth.CanonicalUsername(req.Username), DisplayName: strings.TrimSpace(req.DisplayName),
		BadgeNo: strings.TrimSpace(req.BadgeNo), Role: req.Role, SquadID: req.SquadID}
	if !p.IsAdmin() {
		switch {
		case u.Role == schema.RoleAdmin:
			return schema.Errorf(schema.CodeForbidden, "only admins make admins")
		case u.Role == schema.RoleOffice:
			return schema.Errorf(schema.CodeForbidden, "only admins make office staff")
		case u.SquadID == nil:
			u.SquadID = p.SquadID
		case !p.InSquad(*u.SquadID):
			return schema.Errorf(schema.CodeForbidden, "you lead squad %d; squad %d is not yours", *p.SquadID, *u.SquadID)
		}
	}
	if _, err := schema.CheckAccount(schema.NewAccount{Username: u.Username, DisplayName: u.DisplayName, BadgeNo: u.BadgeNo,
		Role: u.Role, SquadID: u.SquadID}); err != nil {
		return err
	}
	if _, err := schema.CheckPassword(req.Password); err != nil {
		return err
	}
	ctx := c.Request().Context()
	hash, err := s.hashPassword(ctx, c, req.Password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	made, err := s.store.CreateUser(ctx, u)
	if err != nil {
		switch schema.ErrorCode(err) {
		case schema.CodeConflict:
			return schema.Errorf(schema.CodeConflict, "username %s is taken", u.Username)
		case schema.CodeInvalid:
			return schema.Errorf(schema.CodeInvalid, "squad %d does not exist", *u.SquadID)
		}
		return err
	}
	return writeJSON(c, http.StatusCreated, userOut(made))
}

// visibleUser is the user of the route's :id if the caller may manage it:
// an admin every user, a leader the users of their own squad. Any other
// user is not found, like one that does not exist.
func (s *Server) visibleUser(c echo.Context, p *auth.Principal) (store.User, error) {
	id, err := idParam(c, "user")
	if err != nil {
		return store.User{}, err
	}
	u, err := s.store.UserByID(c.Request().Context(), id)
	if err != nil && (p.IsAdmin() || schema.ErrorCode(err) != schema.CodeNotFound) {
		return store.User{}, err
	}
	if !p.IsAdmin() && (err != nil || u.SquadID == nil || !p.InSquad(*u.SquadID)) {
		return store.User{}, schema.Errorf(schema.CodeNotFound, "user %s not found in your squad", id)
	}
	return u, nil
}

// setUserDisabled answers PATCH /api/v1/users/{id}: disabling revokes the
// user's sessions (store.SetUserDisabled); nobody disables themselves.
func (s *Server) setUserDisabled(c echo.Context) error {
	p := principal(c)
	if err := supervisor(p); err != nil {
		return err
	}
	u, err := s.visibleUser(c, p)
	if err != nil {
		return err
	}
	var req SetDisabledRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	if req.Disabled == nil {
		return schema.Errorf(schema.CodeInvalid, `disabled is required: {"disabled": true} or {"disabled": false}`)
	}
	if _, err := schema.CheckSetDisabled(p.UserID, u.ID, *req.Disabled); err != nil {
		return err
	}
	got, err := s.store.SetUserDisabled(c.Request().Context(), u.ID, *req.Disabled)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, userOut(got))
}

// resetPassword answers POST /api/v1/users/{id}/password: an admin or the
// user's leader sets a new password, which revokes every session of the
// user. One's own password is changed at /me/password, which asks for the
// current one, so that a stolen session cannot take the account over.
func (s *Server) resetPassword(c echo.Context) error {
	p := principal(c)
	if err := supervisor(p); err != nil {
		return err
	}
	u, err := s.visibleUser(c, p)
	if err != nil {
		return err
	}
	if u.ID == p.UserID {
		return schema.Errorf(schema.CodeInvalid, "change your own password at %s, with your current one", schema.PathMePassword)
	}
	var req SetPasswordRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	if _, err := schema.CheckPassword(req.Password); err != nil {
		return err
	}
	ctx := c.Request().Context()
	hash, err := s.hashPassword(ctx, c, req.Password)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// changePassword answers POST /api/v1/me/password: the caller proves the
// current password through the login's check and limits (CheckLogin: a
// wrong one counts as a failed login), then every session of theirs,
// this one included, is revoked with the change.
func (s *Server) changePassword(c echo.Context) error {
	p := principal(c)
	var req ChangePasswordRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	if req.Current == "" {
		return schema.Errorf(schema.CodeInvalid, "current (your password now) is required")
	}
	if _, err := schema.CheckPassword(req.New); err != nil {
		return err
	}
	if req.New == req.Current {
		return schema.Errorf(schema.CodeInvalid, "the new password is the current one; choose another")
	}
	u, err := s.CheckLogin(c, p.Username, req.Current)
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeUnauthorized {
			// 401 would tell a client its session is gone; it is not.
			return schema.Errorf(schema.CodeForbidden, "current is not your password; nothing was changed")
		}
		return err
	}
	if u.ID != p.UserID { // the username of the session names another user: a store fault
		return schema.Errorf(schema.CodeInternal, "session and account disagree")
	}
	ctx := c.Request().Context()
	hash, err := s.hashPassword(ctx, c, req.New)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	c.SetCookie(newSessionCookie(c, "", -1))
	return c.NoContent(http.StatusNoContent)
}

// listDevices answers GET /api/v1/devices: enrolled devices (revoked ones
// included), newest first, of the caller's squad (a leader) or of every
// squad or ?squad= (an admin).
func (s *Server) listDevices(c echo.Context) error {
	sq, limit, err := listScope(c)
	if err != nil {
		return err
	}
	f := store.DeviceFilter{SquadID: sq, Limit: limit}
	list, err := s.store.ListDevices(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]Device, 0, len(list))
	for _, d := range list {
		out = append(out, Device{ID: d.ID, Name: d.Name, UserID: d.UserID, Username: d.Username, DisplayName: d.DisplayName,
			SquadID: d.SquadID, CreatedAt: d.CreatedAt, RevokedAt: d.RevokedAt, LastSyncAt: d.LastSyncAt, ClockOffsetMS: d.ClockOffset})
	}
	return writeJSON(c, http.StatusOK, out)
}
