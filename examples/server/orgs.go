package main

import (
	"context"

	"github.com/ingestiq/auth"
)

// SendInvitation logs the link of an invitation to an organization, as the
// other development mails are logged (auth.InvitationMailer).
func (m logMailer) SendInvitation(ctx context.Context, inv *auth.Invitation, org *auth.Organization, inviter *auth.User, token string) error {
	m.log.InfoContext(ctx, "mail (development mailer): invitation", "to", inv.Email, "organization", org.Name, "role", inv.Role, "link", m.base+"/accept-invitation?token="+token)
	return nil
}
