package auth

import (
	"errors"
	"net/http"
)

// The routes' logic, one method per row of [Authenticator.routeTable]. Each
// gets the request decoded into its own type (required fields checked) and,
// on bearer routes, the access token's claims.

type registerRequest struct {
	Email    *string `json:"email" auth:"required"`
	Password *string `json:"password" auth:"required"`
	Name     *string `json:"name" auth:"required"`
}

// serveRegister creates a user and answers 201 with the user and the new
// session's tokens.
func (a *Authenticator) serveRegister(w http.ResponseWriter, r *http.Request, _ *Claims, req *registerRequest) error {
	res, err := a.Register(r.Context(), RegisterInput{Email: *req.Email, Password: *req.Password, Name: *req.Name})
	if err != nil {
		return err
	}
	a.WriteAuthResult(w, r, http.StatusCreated, res)
	return nil
}

type loginRequest struct {
	Email       *string `json:"email" auth:"required"`
	Password    *string `json:"password" auth:"required"`
	DeviceToken string  `json:"deviceToken"`
}

// serveLogin checks an email and password and answers 200 with the user and
// a new session's tokens.
func (a *Authenticator) serveLogin(w http.ResponseWriter, r *http.Request, _ *Claims, req *loginRequest) error {
	ctx := r.Context()
	if req.DeviceToken == "" {
		req.DeviceToken = a.transport.deviceToken(r)
	}
	if req.DeviceToken != "" {
		ctx = WithDeviceToken(ctx, req.DeviceToken)
	}
	res, err := a.Login(ctx, *req.Email, *req.Password)
	if err != nil {
		return err
	}
	a.WriteAuthResult(w, r, http.StatusOK, res)
	return nil
}

type refreshRequest struct {
	RefreshToken *string `json:"refreshToken"`
}

// serveRefresh spends a refresh token (from the body or, failing that, the
// transport) and answers 200 with a new access token and its successor.
func (a *Authenticator) serveRefresh(w http.ResponseWriter, r *http.Request, _ *Claims, req *refreshRequest) error {
	if req.RefreshToken == nil {
		t, err := a.transport.refreshToken(r)
		if err != nil {
			return err
		}
		if t != "" {
			req.RefreshToken = &t
		}
	}
	if err := required(map[string]*string{"refreshToken": req.RefreshToken}); err != nil {
		return err
	}
	pair, err := a.Refresh(r.Context(), *req.RefreshToken)
	if err != nil {
		if errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrTokenExpired) {
			a.transport.clear(w, r)
		}
		return err
	}
	a.writeTokenPair(w, r, pair)
	return nil
}

// serveLogout revokes the session of the request's access token.
func (a *Authenticator) serveLogout(w http.ResponseWriter, r *http.Request, _ *Claims, _ *none) error {
	token, err := a.accessToken(r)
	if err != nil {
		return err
	}
	return a.replyEnded(w, r, http.StatusOK, "Logged out successfully", a.Logout(r.Context(), token))
}

// serveMe answers the user the access token belongs to.
func (a *Authenticator) serveMe(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	u, err := a.User(r.Context(), c.UserID)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	if _, ok := a.users.(OrgStore); ok {
		// The token's active organization and role in it.
		u.OrganizationID, u.Role = c.OrganizationID, c.Role
	}
	writeJSON(w, http.StatusOK, struct {
		User *User `json:"user"`
	}{u})
	return nil
}

type passwordRequest struct {
	Password *string `json:"password" auth:"required"`
}

// serveDeleteAccount deletes the bearer's account (see
// [Authenticator.DeleteAccount]).
func (a *Authenticator) serveDeleteAccount(w http.ResponseWriter, r *http.Request, c *Claims, req *passwordRequest) error {
	if *req.Password == "" {
		// An account without a password proves itself with a fresh session.
		if u, err := a.users.UserByID(r.Context(), c.UserID); err == nil && u.PasswordHash == "" {
			return a.replyEnded(w, r, http.StatusOK, "Account deleted", a.DeleteAccountFresh(r.Context(), c))
		}
	}
	return a.replyEnded(w, r, http.StatusOK, "Account deleted", a.DeleteAccount(r.Context(), c.UserID, *req.Password))
}

// serveSessions lists the live sessions of the bearer's user as
// {"sessions":[{"id","createdAt","lastUsedAt","userAgent","ipAddress","current"}]}.
func (a *Authenticator) serveSessions(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	list, err := a.Sessions(r.Context(), c.UserID, c.SessionID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Sessions []SessionInfo `json:"sessions"`
	}{list})
	return nil
}

// serveEndSession ends one of the bearer's own sessions.
func (a *Authenticator) serveEndSession(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	return reply(w, http.StatusOK, "Session ended", a.EndSession(r.Context(), c.UserID, r.PathValue("id")))
}

type logoutAllRequest struct {
	KeepCurrent *bool `json:"keepCurrent"`
}

// serveLogoutAll ends every session of the bearer's user, or every other
// one with {"keepCurrent": true}.
func (a *Authenticator) serveLogoutAll(w http.ResponseWriter, r *http.Request, c *Claims, req *logoutAllRequest) error {
	keep := ""
	if req.KeepCurrent != nil && *req.KeepCurrent {
		keep = c.SessionID
	}
	n, err := a.LogoutAll(r.Context(), c.UserID, keep)
	if err != nil {
		return err
	}
	if keep == "" {
		a.transport.clear(w, r)
	}
	writeJSON(w, http.StatusOK, struct {
		Message       string `json:"message"`
		SessionsEnded int64  `json:"sessionsEnded"`
	}{"Logged out of all sessions", n})
	return nil
}

type changePasswordRequest struct {
	CurrentPassword *string `json:"currentPassword" auth:"required"`
	NewPassword     *string `json:"newPassword" auth:"required"`
}

// serveChangePassword changes the bearer's password and ends their other
// sessions.
func (a *Authenticator) serveChangePassword(w http.ResponseWriter, r *http.Request, c *Claims, req *changePasswordRequest) error {
	return reply(w, http.StatusOK, "Password changed", a.ChangePassword(r.Context(), c.UserID, c.SessionID, *req.CurrentPassword, *req.NewPassword))
}

type emailRequest struct {
	Email *string `json:"email" auth:"required"`
}

// serveForgotPassword answers 202 whether or not the account exists.
func (a *Authenticator) serveForgotPassword(w http.ResponseWriter, r *http.Request, _ *Claims, req *emailRequest) error {
	return reply(w, http.StatusAccepted, "If an account exists for this email, a password reset link has been sent", a.ForgotPassword(r.Context(), *req.Email))
}

type resetPasswordRequest struct {
	Token       *string `json:"token" auth:"required"`
	NewPassword *string `json:"newPassword" auth:"required"`
}

// serveResetPassword sets a new password with a reset token.
func (a *Authenticator) serveResetPassword(w http.ResponseWriter, r *http.Request, _ *Claims, req *resetPasswordRequest) error {
	return a.replyEnded(w, r, http.StatusOK, "Password has been reset", a.ResetPassword(r.Context(), *req.Token, *req.NewPassword))
}

type tokenRequest struct {
	Token *string `json:"token" auth:"required"`
}

// serveVerifyEmail marks an email address verified with its token.
func (a *Authenticator) serveVerifyEmail(w http.ResponseWriter, r *http.Request, _ *Claims, req *tokenRequest) error {
	return reply(w, http.StatusOK, "Email verified", a.VerifyEmail(r.Context(), *req.Token))
}

// reply answers {"message": msg} with status once the operation succeeded
// (err is nil), and returns err otherwise.
func reply(w http.ResponseWriter, status int, msg string, err error) error {
	if err != nil {
		return err
	}
	writeMessage(w, status, msg)
	return nil
}

// replyEnded is reply for an operation that ended the caller's session: the
// transport takes back its tokens first.
func (a *Authenticator) replyEnded(w http.ResponseWriter, r *http.Request, status int, msg string, err error) error {
	if err == nil {
		a.transport.clear(w, r)
	}
	return reply(w, status, msg, err)
}

// writeMessage answers {"message": msg}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Message string `json:"message"`
	}{msg})
}

// timeFormat is RFC 3339 in UTC with exactly three fractional digits, as in
// "2024-01-28T12:00:00.000Z".
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

type publicUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

type authBody struct {
	User         publicUser `json:"user"`
	AccessToken  string     `json:"accessToken"`
	RefreshToken string     `json:"refreshToken,omitempty"`
	DeviceToken  string     `json:"deviceToken,omitempty"`
}
