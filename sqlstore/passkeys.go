package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ingestiq/auth"
)

var _ auth.PasskeyStore = (*Store)(nil)

// passkeyQueries are the statements of the passkey capability (migration
// 0006), built in New like the others.
type passkeyQueries struct {
	insert, byID, byUser, exists, use, rename, del, delUser string
	ceremonyInsert, ceremonySpend, ceremonyRead             string
	ceremonySweep, ceremonyDelUser                          string
}

const passkeyColumns = "id, user_id, name, public_key, sign_count, transports, attestation_type, attestation_format, " +
	"flags, backup_eligible, backup_state, aaguid, created_at, last_used_at"

func buildPasskeyQueries(d Dialect, prefix string, batch int) passkeyQueries {
	limit := fmt.Sprint(batch)
	q := passkeyQueries{
		insert: "INSERT INTO {p}passkeys (" + passkeyColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		byID:   "SELECT " + passkeyColumns + " FROM {p}passkeys WHERE id = ?",
		byUser: "SELECT " + passkeyColumns + " FROM {p}passkeys WHERE user_id = ? ORDER BY created_at, id",
		exists: "SELECT COUNT(*) FROM {p}passkeys WHERE id = ?",
		// The sign count only goes forward, or stays at zero for
		// authenticators without a counter: one conditional UPDATE.
		use: "UPDATE {p}passkeys SET sign_count = ?, flags = ?, backup_state = ?, last_used_at = ? " +
			"WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))",
		rename:  "UPDATE {p}passkeys SET name = ? WHERE user_id = ? AND id = ?",
		del:     "DELETE FROM {p}passkeys WHERE user_id = ? AND id = ?",
		delUser: "DELETE FROM {p}passkeys WHERE user_id = ?",

		ceremonyInsert: "INSERT INTO {p}passkey_ceremonies (id_hash, kind, user_id, data, created_at, expires_at, used) VALUES (?, ?, ?, ?, ?, ?, 0)",
		// Spending is one conditional UPDATE: of concurrent calls, one
		// changes the row.
		ceremonySpend:   "UPDATE {p}passkey_ceremonies SET used = 1 WHERE id_hash = ? AND used = 0",
		ceremonyRead:    "SELECT kind, user_id, data, created_at, expires_at FROM {p}passkey_ceremonies WHERE id_hash = ?",
		ceremonyDelUser: "DELETE FROM {p}passkey_ceremonies WHERE user_id = ?",
	}
	if d == MySQL {
		q.ceremonySweep = "DELETE FROM {p}passkey_ceremonies WHERE expires_at < ? ORDER BY expires_at LIMIT " + limit
	} else {
		q.ceremonySweep = "DELETE FROM {p}passkey_ceremonies WHERE id_hash IN (" +
			"SELECT id_hash FROM {p}passkey_ceremonies WHERE expires_at < ? LIMIT " + limit + ")"
	}
	r := strings.NewReplacer("{p}", prefix)
	for _, s := range []*string{&q.insert, &q.byID, &q.byUser, &q.exists, &q.use, &q.rename, &q.del, &q.delUser,
		&q.ceremonyInsert, &q.ceremonySpend, &q.ceremonyRead, &q.ceremonySweep, &q.ceremonyDelUser} {
		*s = r.Replace(*s)
		if d == Postgres {
			*s = rebind(*s)
		}
	}
	return q
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreatePasskey inserts p, or returns [auth.ErrCredentialExists] when its
// credential id is stored already: a failed insert whose id is then found
// is a duplicate, whatever the driver's error text.
func (s *Store) CreatePasskey(ctx context.Context, p *auth.Passkey) error {
	if p == nil {
		return errors.New("sqlstore: create passkey: nil passkey")
	}
	aaguid := p.AAGUID
	if aaguid == nil {
		aaguid = []byte{}
	}
	_, err := s.exec(ctx, s.pkq.insert, p.ID, p.UserID, p.Name, p.PublicKey, int64(p.SignCount),
		strings.Join(p.Transports, ","), p.AttestationType, p.AttestationFormat, int(p.Flags),
		boolInt(p.BackupEligible), boolInt(p.BackupState), aaguid, millis(p.CreatedAt), nullMillis(p.LastUsedAt))
	if err == nil {
		return nil
	}
	var n int64
	if qerr := s.queryRow(ctx, s.pkq.exists, p.ID).Scan(&n); qerr == nil && n > 0 {
		return auth.ErrCredentialExists
	}
	return fmt.Errorf("sqlstore: create passkey: %w", err)
}

func scanPasskey(sc interface{ Scan(...any) error }) (*auth.Passkey, error) {
	var (
		p             auth.Passkey
		signCount     int64
		transports    string
		flags, be, bs int
		created       int64
		lastUsed      sql.NullInt64
	)
	if err := sc.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &signCount, &transports, &p.AttestationType,
		&p.AttestationFormat, &flags, &be, &bs, &p.AAGUID, &created, &lastUsed); err != nil {
		return nil, err
	}
	p.SignCount, p.Flags = uint32(signCount), uint8(flags)
	p.BackupEligible, p.BackupState = be != 0, bs != 0
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	if len(p.AAGUID) == 0 {
		p.AAGUID = nil
	}
	p.CreatedAt, p.LastUsedAt = fromMillis(created), fromNullMillis(lastUsed)
	return &p, nil
}

// Passkey returns the passkey id, or [auth.ErrNotFound].
func (s *Store) Passkey(ctx context.Context, id string) (*auth.Passkey, error) {
	p, err := scanPasskey(s.queryRow(ctx, s.pkq.byID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: passkey: %w", err)
	}
	return p, nil
}

// Passkeys returns the user's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID string) ([]*auth.Passkey, error) {
	rows, err := s.query(ctx, s.pkq.byUser, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: passkeys: %w", err)
	}
	defer rows.Close()
	out := []*auth.Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: passkeys: %w", err)
	}
	return out, nil
}

// UsePasskey records a sign-in with one conditional UPDATE that lets the
// sign count only go forward.
func (s *Store) UsePasskey(ctx context.Context, id string, signCount uint32, flags uint8, backupState bool, at time.Time) error {
	res, err := s.exec(ctx, s.pkq.use, int64(signCount), int(flags), boolInt(backupState), millis(at), id, int64(signCount), int64(signCount))
	if err != nil {
		return fmt.Errorf("sqlstore: use passkey: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: use passkey: %w", err)
	}
	if n > 0 {
		return nil
	}
	var c int64
	if err := s.queryRow(ctx, s.pkq.exists, id).Scan(&c); err != nil {
		return fmt.Errorf("sqlstore: use passkey: %w", err)
	}
	if c == 0 {
		return auth.ErrNotFound
	}
	return auth.ErrTokenUsed
}

// RenamePasskey renames the user's passkey, or returns [auth.ErrNotFound].
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	// Read first: MySQL counts only changed rows, and a rename to the same
	// name changes none.
	p, err := s.Passkey(ctx, id)
	if err != nil {
		return err
	}
	if p.UserID != userID {
		return auth.ErrNotFound
	}
	res, err := s.exec(ctx, s.pkq.rename, name, userID, id)
	if err != nil {
		return fmt.Errorf("sqlstore: rename passkey: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: rename passkey: %w", err)
	} else if n == 0 && p.Name != name {
		return auth.ErrNotFound // deleted meanwhile
	}
	return nil
}

// DeletePasskey removes the user's passkey, or returns [auth.ErrNotFound].
// With keepOne it runs in one transaction that first locks the user's row
// (PostgreSQL and MySQL: SELECT ... FOR UPDATE; SQLite runs writers one at
// a time), counts the user's passkeys and external identities, and refuses
// with [auth.ErrLastSignInMethod] to delete the last of them.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string, keepOne bool) error {
	if keepOne {
		return s.deletePasskeyKeepOne(ctx, userID, id)
	}
	res, err := s.exec(ctx, s.pkq.del, userID, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete passkey: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: delete passkey: %w", err)
	}
	if n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// CreatePasskeyCeremony inserts c.
func (s *Store) CreatePasskeyCeremony(ctx context.Context, c *auth.PasskeyCeremony) error {
	if c == nil {
		return errors.New("sqlstore: create passkey ceremony: nil ceremony")
	}
	if _, err := s.exec(ctx, s.pkq.ceremonyInsert, c.IDHash, c.Kind, c.UserID, c.Data, millis(c.CreatedAt), millis(c.ExpiresAt)); err != nil {
		return fmt.Errorf("sqlstore: create passkey ceremony: %w", err)
	}
	return nil
}

// ConsumePasskeyCeremony spends the ceremony with one conditional UPDATE
// and returns it, or returns [auth.ErrNotFound].
func (s *Store) ConsumePasskeyCeremony(ctx context.Context, hash string) (*auth.PasskeyCeremony, error) {
	res, err := s.exec(ctx, s.pkq.ceremonySpend, hash)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: spend passkey ceremony: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: spend passkey ceremony: %w", err)
	}
	if n == 0 {
		return nil, auth.ErrNotFound
	}
	c := auth.PasskeyCeremony{IDHash: hash}
	var created, expires int64
	err = s.queryRow(ctx, s.pkq.ceremonyRead, hash).Scan(&c.Kind, &c.UserID, &c.Data, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound // swept meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read passkey ceremony: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &c, nil
}

// DeleteExpiredPasskeyCeremonies removes, in batches, the ceremonies that
// expired before before.
func (s *Store) DeleteExpiredPasskeyCeremonies(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.exec(ctx, s.pkq.ceremonySweep, millis(before))
		if err != nil {
			return total, fmt.Errorf("sqlstore: delete expired passkey ceremonies: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqlstore: delete expired passkey ceremonies: %w", err)
		}
		total += n
		if n < int64(s.batch) {
			return total, nil
		}
	}
}

// deletePasskeyKeepOne is DeletePasskey with keepOne.
func (s *Store) deletePasskeyKeepOne(ctx context.Context, userID, id string) error {
	if err := s.deleteOwned(ctx, "passkeys", userID, id, true); err != nil {
		if errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrLastSignInMethod) {
			return err
		}
		return fmt.Errorf("sqlstore: delete passkey: %w", err)
	}
	return nil
}
