package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
)

// An MFA ticket is what Login hands out instead of tokens when the account
// has a second factor: hex("t1|id|iat|exp|user id") "." hex(HMAC-SHA-256 of
// the first part) (hex, so a ticket never looks like a JWT), keyed with a key derived from Config.Secret for tickets
// alone, so a ticket can never pass for a token or a token for a ticket. It
// names the user and a random id and lives MFAConfig.TicketTTL. Its single
// use is recorded in the OneTimeTokenStore (purpose PurposeMFATicket, the
// id's SHA-256), so it holds across processes; wrong codes are counted
// against its id in the Limiter.

// PurposeMFATicket is the [OneTimeToken] purpose of a spent MFA ticket.
const PurposeMFATicket = "mfa_ticket"

// maxTicketLength bounds what is decoded at all.
const maxTicketLength = 1024

type ticketPayload struct {
	ID        string
	UserID    string
	IssuedAt  int64
	ExpiresAt int64
	// AMR is the methods of the first step, which the session opened with
	// the second one adds to.
	AMR []string
}

// signTicket returns a ticket for the user, its id and its expiry.
// A first step by password alone makes a "t1" ticket, as before the first
// step's methods were carried; any other makes a "t2" ticket, which names
// them (space-separated) before the user id.
func (k *mfaKeys) signTicket(userID string, amr []string, now time.Time, ttl time.Duration) (string, string, time.Time) {
	exp := now.Add(ttl)
	p := ticketPayload{ID: newID(24), UserID: userID, IssuedAt: now.Unix(), ExpiresAt: exp.Unix()}
	version, methods := "t1|", ""
	if !slices.Equal(amr, amrPassword) {
		version, methods = "t2|", strings.Join(amr, " ")+"|"
	}
	body := version + p.ID + "|" + strconv.FormatInt(p.IssuedAt, 10) + "|" + strconv.FormatInt(p.ExpiresAt, 10) + "|" + methods + userID
	head := hex.EncodeToString([]byte(body))
	return head + "." + hex.EncodeToString(k.ticketMAC(head)), p.ID, exp
}

func (k *mfaKeys) ticketMAC(head string) []byte {
	m := hmac.New(sha256.New, k.ticket)
	m.Write([]byte("mfa-ticket." + head))
	return m.Sum(nil)
}

// parseTicket verifies a ticket's signature and lifetime and returns its
// payload, or ErrInvalidToken for anything wrong (expired included: the
// client must log in again either way).
func (k *mfaKeys) parseTicket(ticket string, now time.Time) (*ticketPayload, error) {
	if len(ticket) == 0 || len(ticket) > maxTicketLength {
		return nil, ErrInvalidToken
	}
	head, sig, ok := strings.Cut(ticket, ".")
	if !ok {
		return nil, ErrInvalidToken
	}
	mac, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, k.ticketMAC(head)) {
		return nil, ErrInvalidToken
	}
	body, err := hex.DecodeString(head)
	if err != nil {
		return nil, ErrInvalidToken
	}
	parts := strings.SplitN(string(body), "|", 5)
	if len(parts) != 5 || parts[1] == "" {
		return nil, ErrInvalidToken
	}
	amr := amrPassword
	switch parts[0] {
	case "t1":
	case "t2":
		methods, userID, ok := strings.Cut(parts[4], "|")
		if !ok || methods == "" {
			return nil, ErrInvalidToken
		}
		amr, parts[4] = strings.Fields(methods), userID
	default:
		return nil, ErrInvalidToken
	}
	if parts[4] == "" {
		return nil, ErrInvalidToken
	}
	p := ticketPayload{ID: parts[1], UserID: parts[4], AMR: amr}
	var err1, err2 error
	p.IssuedAt, err1 = strconv.ParseInt(parts[2], 10, 64)
	p.ExpiresAt, err2 = strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil {
		return nil, ErrInvalidToken
	}
	if now.Unix() >= p.ExpiresAt {
		return nil, ErrInvalidToken
	}
	return &p, nil
}
