package auth

import (
	"net/http"
)

// serveMFAStatus answers the bearer's second-factor status,
// {"factors":["totp"],"totpPending":false,"recoveryCodesLeft":10}.
func (a *Authenticator) serveMFAStatus(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	st, err := a.MFA(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

type enrollTOTPRequest struct {
	Password *string `json:"password"`
}

// serveEnrollTOTP starts enrolling a TOTP factor and answers
// {"secret","uri"} (see [Authenticator.EnrollTOTP]).
func (a *Authenticator) serveEnrollTOTP(w http.ResponseWriter, r *http.Request, c *Claims, req *enrollTOTPRequest) error {
	res, err := a.EnrollTOTP(r.Context(), c, deref(req.Password))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

type removeTOTPRequest struct {
	Password     *string `json:"password" auth:"required"`
	Code         *string `json:"code"`
	RecoveryCode *string `json:"recoveryCode"`
}

// serveRemoveTOTP removes the TOTP factor from a session at assurance level
// 2 (see [Authenticator.RemoveTOTP]).
func (a *Authenticator) serveRemoveTOTP(w http.ResponseWriter, r *http.Request, c *Claims, req *removeTOTPRequest) error {
	return reply(w, http.StatusOK, "Second factor removed", a.RemoveTOTP(r.Context(), c, *req.Password, deref(req.Code), deref(req.RecoveryCode)))
}

type codeRequest struct {
	Code *string `json:"code" auth:"required"`
}

// serveConfirmTOTP activates the enrolled factor and answers
// {"recoveryCodes":[...]} (see [Authenticator.ConfirmTOTP]).
func (a *Authenticator) serveConfirmTOTP(w http.ResponseWriter, r *http.Request, c *Claims, req *codeRequest) error {
	return writeRecoveryCodes(w)(a.ConfirmTOTP(r.Context(), c, *req.Code))
}

// serveRegenerateRecoveryCodes replaces the recovery codes, from a session
// at assurance level 2, and answers {"recoveryCodes":[...]}.
func (a *Authenticator) serveRegenerateRecoveryCodes(w http.ResponseWriter, r *http.Request, c *Claims, req *codeRequest) error {
	return writeRecoveryCodes(w)(a.RegenerateRecoveryCodes(r.Context(), c, *req.Code))
}

type verifyMFARequest struct {
	Ticket       *string `json:"ticket" auth:"required"`
	Code         *string `json:"code"`
	RecoveryCode *string `json:"recoveryCode"`
}

// serveVerifyMFA completes a login that answered MFA_REQUIRED and answers
// exactly as POST /login does.
func (a *Authenticator) serveVerifyMFA(w http.ResponseWriter, r *http.Request, _ *Claims, req *verifyMFARequest) error {
	res, err := a.VerifyMFA(r.Context(), *req.Ticket, deref(req.Code), deref(req.RecoveryCode))
	if err != nil {
		return err
	}
	a.WriteAuthResult(w, r, http.StatusOK, res)
	return nil
}

// writeRecoveryCodes answers {"recoveryCodes":[...]}, or the error.
func writeRecoveryCodes(w http.ResponseWriter) func([]string, error) error {
	return func(codes []string, err error) error {
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct {
			RecoveryCodes []string `json:"recoveryCodes"`
		}{codes})
		return nil
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
