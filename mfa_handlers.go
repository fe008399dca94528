package auth

import (
	"net/http"
)

// MFAStatusHandler returns the handler of GET /mfa: it answers the bearer's
// second-factor status, {"factors":["totp"],"totpPending":false,
// "recoveryCodesLeft":10}.
func (a *Authenticator) MFAStatusHandler() http.Handler {
	return a.route(http.MethodGet, a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
		st, err := a.MFA(r.Context(), c.UserID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, st)
		return nil
	}))
}

// TOTPHandler returns the handler of /mfa/totp. POST, with the optional
// body {"password"}, starts enrolling a TOTP factor and answers
// {"secret","uri"} (see [Authenticator.EnrollTOTP]); DELETE, with the body
// {"password","code"} or {"password","recoveryCode"}, removes it from a
// session at assurance level 2 (see [Authenticator.RemoveTOTP]).
func (a *Authenticator) TOTPHandler() http.Handler {
	return a.routes(map[string]routeFunc{
		http.MethodPost: a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
			var req struct {
				Password *string `json:"password"`
			}
			if r.ContentLength != 0 {
				if err := a.decode(w, r, &req); err != nil {
					return err
				}
			}
			password := ""
			if req.Password != nil {
				password = *req.Password
			}
			res, err := a.EnrollTOTP(r.Context(), c, password)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, res)
			return nil
		}),
		http.MethodDelete: a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
			var req struct {
				Password     *string `json:"password"`
				Code         *string `json:"code"`
				RecoveryCode *string `json:"recoveryCode"`
			}
			if err := a.decode(w, r, &req); err != nil {
				return err
			}
			if err := required(map[string]*string{"password": req.Password}); err != nil {
				return err
			}
			if err := a.RemoveTOTP(r.Context(), c, *req.Password, deref(req.Code), deref(req.RecoveryCode)); err != nil {
				return err
			}
			writeMessage(w, http.StatusOK, "Second factor removed")
			return nil
		}),
	})
}

// ConfirmTOTPHandler returns the handler of POST /mfa/totp/confirm, with
// the body {"code"}: it activates the enrolled factor and answers
// {"recoveryCodes":[...]} (see [Authenticator.ConfirmTOTP]).
func (a *Authenticator) ConfirmTOTPHandler() http.Handler {
	return a.route(http.MethodPost, a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
		var req struct {
			Code *string `json:"code"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if err := required(map[string]*string{"code": req.Code}); err != nil {
			return err
		}
		codes, err := a.ConfirmTOTP(r.Context(), c, *req.Code)
		if err != nil {
			return err
		}
		writeRecoveryCodes(w, codes)
		return nil
	}))
}

// RecoveryCodesHandler returns the handler of POST /mfa/recovery-codes,
// with the body {"code"}: from a session at assurance level 2 it replaces
// the recovery codes and answers {"recoveryCodes":[...]}.
func (a *Authenticator) RecoveryCodesHandler() http.Handler {
	return a.route(http.MethodPost, a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
		var req struct {
			Code *string `json:"code"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if err := required(map[string]*string{"code": req.Code}); err != nil {
			return err
		}
		codes, err := a.RegenerateRecoveryCodes(r.Context(), c, *req.Code)
		if err != nil {
			return err
		}
		writeRecoveryCodes(w, codes)
		return nil
	}))
}

// VerifyMFAHandler returns the handler of POST /mfa/verify, with the body
// {"ticket","code"} or {"ticket","recoveryCode"}: it completes a login that
// answered MFA_REQUIRED and answers exactly as POST /login does.
func (a *Authenticator) VerifyMFAHandler() http.Handler {
	return a.route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Ticket       *string `json:"ticket"`
			Code         *string `json:"code"`
			RecoveryCode *string `json:"recoveryCode"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if err := required(map[string]*string{"ticket": req.Ticket}); err != nil {
			return err
		}
		res, err := a.VerifyMFA(r.Context(), *req.Ticket, deref(req.Code), deref(req.RecoveryCode))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, a.authResponse(w, r, res))
		return nil
	})
}

func writeRecoveryCodes(w http.ResponseWriter, codes []string) {
	writeJSON(w, http.StatusOK, struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}{codes})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
