// Package memstore is an in-memory [auth.UserStore] and [auth.TokenStore],
// with the optional [auth.SessionLister], [auth.OneTimeTokenStore] and
// [auth.EmailVerifier].
//
// A [Store] keeps everything in maps guarded by one mutex, so it suits
// tests, examples and single-process services that can afford to lose their
// users and sessions on restart. It passes the conformance suite in package
// storetest.
//
//	st := memstore.New()
//	a, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: secret})
//
// Like every store, it starts no goroutine: expired sessions, refresh
// tokens and one-time tokens stay until the application calls
// [Store.DeleteExpired].
package memstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ingestiq/auth"
)

// Compile-time checks that *Store implements the store interfaces and the
// optional ones.
var (
	_ auth.UserStore           = (*Store)(nil)
	_ auth.TokenStore          = (*Store)(nil)
	_ auth.SessionLister       = (*Store)(nil)
	_ auth.OneTimeTokenStore   = (*Store)(nil)
	_ auth.EmailVerifier       = (*Store)(nil)
	_ auth.OneTimeTokenRevoker = (*Store)(nil)
)

// Errors for calls the Authenticator never makes. They keep the store's
// records consistent when the package is driven directly.
var (
	// errNilRecord is returned by [Store.CreateUser],
	// [Store.CreateSession], [Store.RotateRefreshToken] and
	// [Store.CreateOneTimeToken] when a record to insert is nil.
	errNilRecord = errors.New("memstore: nil record")

	// errDuplicateID is returned by [Store.CreateUser] and
	// [Store.CreateSession] when a user or session with the same ID is
	// already stored.
	errDuplicateID = errors.New("memstore: id already exists")

	// errDuplicateHash is returned by [Store.CreateSession] and
	// [Store.RotateRefreshToken] when a refresh token with the same IDHash
	// is already stored.
	errDuplicateHash = errors.New("memstore: refresh token hash already exists")

	// errDuplicateOneTimeHash is returned by [Store.CreateOneTimeToken]
	// when a one-time token with the same IDHash is already stored.
	errDuplicateOneTimeHash = errors.New("memstore: one-time token hash already exists")

	// errWrongSession is returned by [Store.CreateSession] when the first
	// refresh token names another session, and by
	// [Store.RotateRefreshToken] when the successor names a session other
	// than its predecessor's.
	errWrongSession = errors.New("memstore: refresh token belongs to another session")
)

// Store is an in-memory [auth.UserStore] and [auth.TokenStore], and an
// [auth.SessionLister], [auth.OneTimeTokenStore] and [auth.EmailVerifier].
// It is safe for concurrent use. Records are copied in and out: the store
// never keeps or hands out a pointer the caller holds, and it converts every
// time to UTC, keeping its full precision. The zero value is not usable;
// call [New].
type Store struct {
	mu sync.RWMutex

	// users and byEmail index the same records by ID and by Email; a
	// record's strings back the keys of both maps.
	users   map[string]*auth.User
	byEmail map[string]*auth.User

	// sessions holds the sessions by ID, each with the hashes of its
	// refresh tokens.
	sessions map[string]*session

	// tokens holds the refresh tokens by IDHash. Every token belongs to a
	// stored session and is listed in its hashes.
	tokens map[string]*auth.RefreshToken

	// byUser lists the sessions of each user id, in no particular order,
	// for UserSessions and RevokeUserSessions. Every stored session is
	// listed once, under its UserID; a user without sessions has no entry.
	// DeleteUser removes the user's entry with its sessions and tokens.
	byUser map[string][]*session

	// oneTime holds the one-time tokens by IDHash. They are few and
	// short-lived, so DeleteUser finds a user's by a scan rather than
	// through an index of their own.
	oneTime map[string]*auth.OneTimeToken

	// factors and recovery hold each user's second factor and the hashes
	// of their unspent recovery codes, by user id (see mfa.go); both are
	// created on first use.
	factors  map[string]*auth.SecondFactor
	recovery map[string]map[string]struct{}
	// passkeys and ceremonies hold the passkeys by credential id and the
	// passkey ceremonies by IDHash (see passkey.go), created on first use.
	passkeys   map[string]*auth.Passkey
	ceremonies map[string]*auth.PasskeyCeremony
	// orgState holds organizations, memberships and invitations (see
	// orgs.go).
	orgState

	// identities holds the external identities by issuer and subject (see
	// identities.go); created on first use.
	identities map[identityKey]*auth.ExternalIdentity
}

// session is a stored session and the index of its refresh tokens.
type session struct {
	auth.Session

	// hashes lists the IDHash of every stored refresh token of the
	// session, spent or not, so that removing a session removes its tokens
	// without a scan.
	hashes []string
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:    make(map[string]*auth.User),
		byEmail:  make(map[string]*auth.User),
		sessions: make(map[string]*session),
		tokens:   make(map[string]*auth.RefreshToken),
		byUser:   make(map[string][]*session),
		oneTime:  make(map[string]*auth.OneTimeToken),
	}
}

// CreateUser stores a copy of u. It returns [auth.ErrEmailExists] when a
// user with the same Email exists, comparing byte for byte, and an error
// when a user with the same ID exists. It does not change u.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if u == nil {
		return errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byEmail[u.Email]; ok {
		return auth.ErrEmailExists
	}
	if _, ok := s.users[u.ID]; ok {
		return errDuplicateID
	}
	rec := *u
	rec.CreatedAt = rec.CreatedAt.UTC()
	rec.EmailVerifiedAt = rec.EmailVerifiedAt.UTC()
	s.users[rec.ID] = &rec
	s.byEmail[rec.Email] = &rec
	s.joinOwnOrganization(&rec)
	return nil
}

// UserByID returns a copy of the user with the given id, or
// [auth.ErrNotFound].
func (s *Store) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.users[id]
	if !ok {
		return nil, auth.ErrNotFound
	}
	u := *rec
	return &u, nil
}

// UserByEmail returns a copy of the user whose Email equals email byte for
// byte, or [auth.ErrNotFound].
func (s *Store) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.byEmail[email]
	if !ok {
		return nil, auth.ErrNotFound
	}
	u := *rec
	return &u, nil
}

// UpdatePasswordHash replaces the password hash of the user with the given
// id. It returns [auth.ErrNotFound] when there is no such user.
func (s *Store) UpdatePasswordHash(ctx context.Context, id, hash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.users[id]
	if !ok {
		return auth.ErrNotFound
	}
	rec.PasswordHash = hash
	return nil
}

// DeleteUser removes the user with the given id, which frees its email,
// together with the user's sessions, refresh tokens and one-time tokens, as
// sqlstore's foreign keys do. It returns [auth.ErrNotFound] when there is
// no such user, and [auth.ErrLastOwner], changing nothing, when the user is
// the only owner of an organization with other members.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.users[id]
	if !ok {
		return auth.ErrNotFound
	}
	if s.ownsAlone(id) {
		return auth.ErrLastOwner
	}
	delete(s.users, id)
	delete(s.byEmail, rec.Email)
	// Like a database with ON DELETE CASCADE, the user's sessions and
	// tokens go with it, so no token of a deleted user stays usable.
	for _, sess := range s.byUser[id] {
		for _, h := range sess.hashes {
			delete(s.tokens, h)
		}
		delete(s.sessions, sess.ID)
	}
	delete(s.byUser, id)
	s.dropMemberships(id)
	delete(s.factors, id)
	delete(s.recovery, id)
	s.deleteUserPasskeys(id)
	s.deleteUserIdentities(id)
	for h, tok := range s.oneTime {
		if tok.UserID == id {
			delete(s.oneTime, h)
		}
	}
	return nil
}

// SetEmailVerified sets the EmailVerifiedAt of the user with the given id
// to at, unless it is set already, in which case it keeps the first time
// and succeeds. It returns [auth.ErrNotFound] when there is no such user.
func (s *Store) SetEmailVerified(ctx context.Context, userID string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.users[userID]
	if !ok {
		return auth.ErrNotFound
	}
	if rec.EmailVerifiedAt.IsZero() {
		rec.EmailVerifiedAt = at.UTC()
	}
	return nil
}

// CreateSession stores copies of sess and of first, its first refresh
// token, or neither. It returns an error, and stores nothing, when a session
// with the same ID or a refresh token with the same IDHash exists, or when
// first.SessionID is not sess.ID.
func (s *Store) CreateSession(ctx context.Context, sess *auth.Session, first *auth.RefreshToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if sess == nil || first == nil {
		return errNilRecord
	}
	if first.SessionID != sess.ID {
		return errWrongSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[sess.ID]; ok {
		return errDuplicateID
	}
	if _, ok := s.tokens[first.IDHash]; ok {
		return errDuplicateHash
	}
	rec := &session{Session: *sess}
	rec.CreatedAt = rec.CreatedAt.UTC()
	rec.ExpiresAt = rec.ExpiresAt.UTC()
	rec.RevokedAt = rec.RevokedAt.UTC()
	rec.LastUsedAt = time.Time{} // derived from the tokens when read
	if u, ok := s.users[rec.UserID]; ok {
		rec.UserID = u.ID // share the user's string rather than keep another copy
	}
	s.sessions[rec.ID] = rec
	s.byUser[rec.UserID] = append(s.byUser[rec.UserID], rec)
	s.addToken(rec, first)
	return nil
}

// addToken stores a copy of tok as a token of sess, which must be the
// stored session named by tok.SessionID. The caller holds the write lock and
// has checked that tok.IDHash is free.
func (s *Store) addToken(sess *session, tok *auth.RefreshToken) {
	rec := *tok
	// Share the session's strings: a record then costs little more than
	// its hash.
	rec.SessionID = sess.ID
	if rec.UserID == sess.UserID {
		rec.UserID = sess.UserID
	}
	rec.CreatedAt = rec.CreatedAt.UTC()
	rec.ExpiresAt = rec.ExpiresAt.UTC()
	rec.UsedAt = rec.UsedAt.UTC()
	rec.SuccessorHash = "" // set only by RotateRefreshToken
	s.tokens[rec.IDHash] = &rec
	sess.hashes = append(sess.hashes, rec.IDHash)
}

// Session returns a copy of the session with the given id, revoked or not,
// or [auth.ErrNotFound]. Its LastUsedAt is left zero: only
// [Store.UserSessions] computes it, so that the read behind every access
// token's verification stays a map lookup.
func (s *Store) Session(ctx context.Context, id string) (*auth.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.sessions[id]
	if !ok {
		return nil, auth.ErrNotFound
	}
	sess := rec.Session
	return &sess, nil
}

// RevokeSession marks the session with the given id revoked at the given
// time, unless it is revoked already, in which case it keeps the first
// RevokedAt and succeeds. It returns [auth.ErrNotFound] when there is no such
// session.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.sessions[id]
	if !ok {
		return auth.ErrNotFound
	}
	if rec.RevokedAt.IsZero() {
		rec.RevokedAt = at.UTC()
	}
	return nil
}

// RotateRefreshToken spends the refresh token whose IDHash is oldHash and
// stores a copy of next, in one step under the store's lock, and returns a
// copy of the old token as spent, with UsedAt set to at and SuccessorHash to
// next.IDHash, and the organization and role of its user.
//
// It returns [auth.ErrNotFound] when there is no such token (DeleteUser
// removes the user's tokens). When the token was spent already it returns a copy of it
// and [auth.ErrTokenUsed], even if its session has been revoked since, with
// its successor (and the user's organization and role) when that is still
// stored, unused, and the session is live; when its session is revoked, a
// copy of it and [auth.ErrSessionRevoked]. It returns an error, too, when
// next names a session other than the old token's or reuses a stored
// IDHash. On every error nothing changes and next is not stored.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.Rotation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.tokens[oldHash]
	if !ok {
		return nil, auth.ErrNotFound
	}
	// DeleteUser removes the user's tokens, so a token's user is normally
	// stored; should it not be, the Authenticator reads the user itself.
	u := s.users[old.UserID]
	// Every stored token belongs to a stored session (DeleteExpired
	// removes a session's tokens with it), so sess is never nil.
	sess := s.sessions[old.SessionID]
	if !old.UsedAt.IsZero() {
		tok := *old
		r := &auth.Rotation{Old: &tok}
		if succ := s.tokens[old.SuccessorHash]; old.SuccessorHash != "" && succ != nil && succ.UsedAt.IsZero() && sess.RevokedAt.IsZero() {
			c := *succ
			r.Successor = &c
			s.userInto(r, u, sess)
		}
		return r, auth.ErrTokenUsed
	}
	if !sess.RevokedAt.IsZero() {
		tok := *old
		return &auth.Rotation{Old: &tok}, auth.ErrSessionRevoked
	}
	if !s.inSessionOrg(sess, u) {
		return nil, auth.ErrNotFound // the membership is gone
	}
	switch {
	case next == nil:
		return nil, errNilRecord
	case next.SessionID != old.SessionID:
		return nil, errWrongSession
	}
	if _, ok := s.tokens[next.IDHash]; ok {
		return nil, errDuplicateHash
	}
	old.UsedAt = at.UTC()
	old.SuccessorHash = next.IDHash
	s.addToken(sess, next)
	tok := *old
	r := &auth.Rotation{Old: &tok}
	s.userInto(r, u, sess)
	return r, nil
}

// userInto copies the organization and role of u, when it is stored, into
// r.
func (s *Store) userInto(r *auth.Rotation, u *auth.User, sess *session) {
	if u == nil {
		return
	}
	if sess.OrganizationID == "" {
		r.UserRead, r.OrganizationID, r.Role = true, u.OrganizationID, u.Role
		return
	}
	if m := s.members[sess.OrganizationID].get(u.ID); m != nil {
		r.UserRead, r.OrganizationID, r.Role = true, sess.OrganizationID, m.Role
	}
}

// DeleteExpired removes the sessions, the refresh tokens and the one-time
// tokens whose ExpiresAt is before the given time, and the refresh tokens of
// the sessions it removes. It returns the number of records removed,
// counting every refresh token, whether it expired itself or went with its
// session. Users are never removed.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	// Users some of whose sessions were removed, so that their entries in
	// byUser are pruned once, after the walk.
	var pruned map[string]bool
	// Every token is listed under its session, so walking the sessions
	// reaches every token once.
	for id, sess := range s.sessions {
		if sess.ExpiresAt.Before(before) {
			for _, h := range sess.hashes {
				delete(s.tokens, h)
			}
			n += int64(len(sess.hashes)) + 1
			delete(s.sessions, id)
			if pruned == nil {
				pruned = make(map[string]bool)
			}
			pruned[sess.UserID] = true
			continue
		}
		sess.hashes = slices.DeleteFunc(sess.hashes, func(h string) bool {
			if !s.tokens[h].ExpiresAt.Before(before) {
				return false
			}
			delete(s.tokens, h)
			n++
			return true
		})
	}
	for userID := range pruned {
		live := slices.DeleteFunc(s.byUser[userID], func(sess *session) bool {
			return s.sessions[sess.ID] != sess
		})
		if len(live) == 0 {
			delete(s.byUser, userID)
		} else {
			s.byUser[userID] = slices.Clip(live)
		}
	}
	for h, tok := range s.oneTime {
		if tok.ExpiresAt.Before(before) {
			delete(s.oneTime, h)
			n++
		}
	}
	return n, nil
}

// UserSessions returns copies of the sessions of the user with the given id
// that are not revoked, expired ones included, most recently created first
// (sessions created at the same instant in descending order of ID). Each
// has its LastUsedAt set to the latest CreatedAt of the session's stored
// refresh tokens, or to the session's CreatedAt when it has none left. A
// user without sessions, or an unknown user, gives an empty slice.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]*auth.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := []*auth.Session{}
	for _, rec := range s.byUser[userID] {
		if !rec.RevokedAt.IsZero() {
			continue
		}
		sess := rec.Session
		for _, h := range rec.hashes {
			if c := s.tokens[h].CreatedAt; c.After(sess.LastUsedAt) {
				sess.LastUsedAt = c
			}
		}
		if len(rec.hashes) == 0 {
			sess.LastUsedAt = sess.CreatedAt
		}
		list = append(list, &sess)
	}
	slices.SortFunc(list, func(a, b *auth.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return list, nil
}

// RevokeUserSessions marks every session of the user with the given id that
// is not revoked yet revoked at the given time, except the session whose id
// is except (none when except is ""), and returns how many it revoked.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at = at.UTC()
	var n int64
	for _, rec := range s.byUser[userID] {
		if rec.RevokedAt.IsZero() && rec.ID != except {
			rec.RevokedAt = at
			n++
		}
	}
	return n, nil
}

// CreateOneTimeToken stores a copy of t. It returns an error, and stores
// nothing, when a one-time token with the same IDHash is stored.
func (s *Store) CreateOneTimeToken(ctx context.Context, t *auth.OneTimeToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t == nil {
		return errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.oneTime[t.IDHash]; ok {
		return errDuplicateOneTimeHash
	}
	rec := *t
	if u, ok := s.users[rec.UserID]; ok {
		rec.UserID = u.ID // share the user's string
	}
	rec.CreatedAt = rec.CreatedAt.UTC()
	rec.ExpiresAt = rec.ExpiresAt.UTC()
	rec.UsedAt = rec.UsedAt.UTC()
	s.oneTime[rec.IDHash] = &rec
	return nil
}

// OneTimeToken returns a copy of the unused one-time token whose IDHash is
// hash and whose Purpose is purpose, leaving it unused. It returns
// [auth.ErrNotFound] when there is no such token, when its purpose is
// another, or when it was spent already. It does not check expiry.
func (s *Store) OneTimeToken(ctx context.Context, hash, purpose string) (*auth.OneTimeToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.oneTime[hash]
	if !ok || rec.Purpose != purpose || !rec.UsedAt.IsZero() {
		return nil, auth.ErrNotFound
	}
	tok := *rec
	return &tok, nil
}

// RevokeOneTimeTokens spends, under the store's lock, every unspent
// one-time token of the user with the given purpose, and returns how many.
func (s *Store) RevokeOneTimeTokens(ctx context.Context, userID, purpose string, at time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, rec := range s.oneTime {
		if rec.UserID == userID && rec.Purpose == purpose && rec.UsedAt.IsZero() {
			rec.UsedAt = at.UTC()
			n++
		}
	}
	return n, nil
}

// ConsumeOneTimeToken spends the one-time token whose IDHash is hash and
// whose Purpose is purpose, in one step under the store's lock, and returns
// a copy of it with UsedAt set to at. It returns [auth.ErrNotFound] when
// there is no such token, when its purpose is another, or when it was spent
// already; the token is then unchanged. It does not check expiry.
func (s *Store) ConsumeOneTimeToken(ctx context.Context, hash, purpose string, at time.Time) (*auth.OneTimeToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.oneTime[hash]
	if !ok || rec.Purpose != purpose || !rec.UsedAt.IsZero() {
		return nil, auth.ErrNotFound
	}
	rec.UsedAt = at.UTC()
	tok := *rec
	return &tok, nil
}
