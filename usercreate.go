package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// createUser is the one path by which every way in creates a user: it
// gives the user its id, creation time and a new organization in which it
// is owner, lets [Config.OnRegister] choose the organization and role, and
// stores it. in carries the email (canonical), the name, the password hash
// ("" for a user without a password) and EmailVerifiedAt. It returns the
// stored user and undo, which deletes it again and runs
// [Config.OnRegisterUndo]: the caller calls undo when what follows the
// creation (opening the session) fails, so a failed call leaves nothing
// behind. A taken email is [ErrEmailExists], audited.
func (a *Authenticator) createUser(ctx context.Context, in *User, now time.Time) (*User, func(), error) {
	u := &User{
		ID:              uuid.NewString(),
		Email:           in.Email,
		Name:            in.Name,
		OrganizationID:  uuid.NewString(),
		Role:            RoleOwner,
		PasswordHash:    in.PasswordHash,
		CreatedAt:       now.UTC().Truncate(time.Millisecond),
		EmailVerifiedAt: in.EmailVerifiedAt,
	}
	hooked := false
	if a.cfg.OnRegister != nil {
		id, mail, name, hash, created, verified := u.ID, u.Email, u.Name, u.PasswordHash, u.CreatedAt, u.EmailVerifiedAt
		if err := a.cfg.OnRegister(ctx, u); err != nil {
			return nil, nil, err
		}
		// The hook may only choose the organization and role.
		u.ID, u.Email, u.Name, u.PasswordHash, u.CreatedAt, u.EmailVerifiedAt = id, mail, name, hash, created, verified
		hooked = true
	}
	undoHook := func() {
		if hooked && a.cfg.OnRegisterUndo != nil {
			undone := *u
			a.cfg.OnRegisterUndo(context.WithoutCancel(ctx), &undone)
		}
	}
	if err := a.users.CreateUser(ctx, u); err != nil {
		undoHook()
		if errors.Is(err, ErrEmailExists) {
			a.audit(ctx, AuditRegisterFailure, "reason", "email_exists", "email", logSafe(u.Email))
			return nil, nil, ErrEmailExists
		}
		return nil, nil, fmt.Errorf("auth: create user: %w", err)
	}
	undo := func() {
		// A fresh context: the request's may be what failed.
		if err := a.users.DeleteUser(context.WithoutCancel(ctx), u.ID); err != nil {
			a.log.ErrorContext(ctx, "auth: could not undo registration", "user_id", u.ID, "error", err)
		}
		undoHook()
	}
	return u, undo, nil
}
