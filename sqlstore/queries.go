package sqlstore

import (
	"strconv"
	"strings"
)

// queries holds every statement the store runs, built once in [New] for one
// dialect and table prefix. The templates below are written once with ?
// placeholders and {p} for the table prefix; PostgreSQL's copies are rebound
// to $n. The only string literal, SQLite's 'table', holds no placeholder.
type queries struct {
	insertUser      string
	userByID        string
	userByEmail     string
	updatePassword  string
	userExists      string
	deleteUserToken string
	deleteUserSess  string
	deleteUserOnce  string // the user's one-time tokens
	deleteUser      string
	setVerified     string

	insertSession  string
	insertToken    string
	session        string
	revokeSession  string
	sessionExists  string
	rotateReturn   string // SQLite: UPDATE ... RETURNING
	rotateCTE      string // PostgreSQL: the whole rotation in one statement
	rotateLock     string // MySQL: SELECT ... FOR UPDATE
	rotateSpend    string // MySQL: UPDATE of the locked row
	tokenState     string // classifies a token that could not be rotated
	deleteTokens   string // one batch of expired tokens
	deleteOrphans  string // one batch of tokens of expired sessions
	deleteSessions string // one batch of expired sessions
	deleteOnce     string // one batch of expired one-time tokens

	userSessions       string
	revokeUserSessions string

	insertOnce       string
	consumeReturning string // SQLite and PostgreSQL: UPDATE ... RETURNING
	consumeLock      string // MySQL: SELECT ... FOR UPDATE
	revokeOnce       string // every unspent token of a user and purpose
	consumeSpend     string // MySQL: UPDATE of the locked row
	oneTimeToken     string // read an unused token without spending it

	// The second factor (see mfa.go).
	factorDeleteUnverified string
	factorCount            string // the user's factors
	factorInsert           string
	factorByUser           string
	factorConfirm          string
	factorUser             string // the user of a factor id
	factorUseStep          string
	factorExists           string
	factorDelete           string
	recoveryDeleteAll      string
	recoveryInsert         string
	recoveryUse            string
	recoveryCount          string

	migrationsTable string
	appliedVersions string
	recordVersion   string
	tableExists     string
	schemaVersion   string
}

const (
	userColumns    = "id, email, name, organization_id, role, password_hash, created_at, email_verified_at"
	sessionColumns = "id, user_id, created_at, expires_at, revoked_at, user_agent, ip_address, amr, aal, organization_id"
	factorColumns  = "id, user_id, secret, created_at, verified_at, last_step"

	// tokenStateColumns and tokenStateFrom read a refresh token with its
	// session, its successor and its user (see scanTokenState).
	tokenStateColumns = "t.session_id, t.user_id, t.created_at, t.expires_at, t.used_at, t.successor_hash, s.id, s.revoked_at, " +
		"n.session_id, n.user_id, n.created_at, n.expires_at, n.used_at, " +
		"CASE WHEN u.id IS NULL THEN NULL WHEN s.organization_id = '' THEN u.organization_id ELSE s.organization_id END, " +
		"CASE WHEN s.organization_id = '' THEN u.role ELSE m.role END"
	tokenStateFrom = "FROM {p}refresh_tokens t LEFT JOIN {p}sessions s ON s.id = t.session_id " +
		"LEFT JOIN {p}refresh_tokens n ON n.id_hash = t.successor_hash " +
		"LEFT JOIN {p}users u ON u.id = t.user_id " +
		"LEFT JOIN {p}memberships m ON m.organization_id = s.organization_id AND m.user_id = t.user_id"
)

// sessionOrg is the organization of session s of user u: the session's
// own, or the user's for a session without one.
const sessionOrg = "CASE WHEN s.organization_id = '' THEN u.organization_id ELSE s.organization_id END"

// sessionRole is the role of the user whose id is userID in session s: the
// membership's in the session's organization, or u's for a session without
// one.
func sessionRole(userID string) string {
	return "CASE WHEN s.organization_id = '' THEN u.role ELSE (SELECT m.role FROM {p}memberships m " +
		"WHERE m.organization_id = s.organization_id AND m.user_id = " + userID + ") END"
}

// inSessionOrg holds when session s has no organization or the user whose
// id is userID is a member of it.
func inSessionOrg(userID string) string {
	return "(s.organization_id = '' OR EXISTS (SELECT 1 FROM {p}memberships m " +
		"WHERE m.organization_id = s.organization_id AND m.user_id = " + userID + "))"
}

func buildQueries(d Dialect, prefix string, batch int) queries {
	limit := strconv.Itoa(batch)
	q := queries{
		insertUser:      "INSERT INTO {p}users (" + userColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		userByID:        "SELECT " + userColumns + " FROM {p}users WHERE id = ?",
		userByEmail:     "SELECT " + userColumns + " FROM {p}users WHERE email = ?",
		updatePassword:  "UPDATE {p}users SET password_hash = ? WHERE id = ?",
		userExists:      "SELECT COUNT(*) FROM {p}users WHERE id = ?",
		deleteUserToken: "DELETE FROM {p}refresh_tokens WHERE session_id IN (SELECT id FROM {p}sessions WHERE user_id = ?)",
		deleteUserSess:  "DELETE FROM {p}sessions WHERE user_id = ?",
		deleteUserOnce:  "DELETE FROM {p}one_time_tokens WHERE user_id = ?",
		deleteUser:      "DELETE FROM {p}users WHERE id = ?",
		// COALESCE keeps the first verification time.
		setVerified: "UPDATE {p}users SET email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ?",

		insertSession: "INSERT INTO {p}sessions (" + sessionColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		insertToken:   "INSERT INTO {p}refresh_tokens (id_hash, session_id, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)",
		session:       "SELECT " + sessionColumns + " FROM {p}sessions WHERE id = ?",
		revokeSession: "UPDATE {p}sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
		sessionExists: "SELECT COUNT(*) FROM {p}sessions WHERE id = ?",

		// The token is spent only while it is unused and its session is
		// live (SQLite, which runs writers one at a time).
		// With organizations, the session's organization and the user's
		// membership role in it; a session whose membership is gone is not
		// refreshed.
		rotateReturn: "UPDATE {p}refresh_tokens SET used_at = ?, successor_hash = ? " +
			"WHERE id_hash = ? AND used_at IS NULL AND EXISTS (" +
			"SELECT 1 FROM {p}sessions s WHERE s.id = {p}refresh_tokens.session_id AND s.revoked_at IS NULL AND " + inSessionOrg("{p}refresh_tokens.user_id") + ") " +
			"RETURNING session_id, user_id, created_at, expires_at, " +
			"(SELECT " + sessionOrg + " FROM {p}sessions s JOIN {p}users u ON u.id = {p}refresh_tokens.user_id WHERE s.id = {p}refresh_tokens.session_id), " +
			"(SELECT " + sessionRole("u.id") + " FROM {p}sessions s JOIN {p}users u ON u.id = {p}refresh_tokens.user_id WHERE s.id = {p}refresh_tokens.session_id)",
		// PostgreSQL: the whole rotation in one statement. upd spends the
		// token as rotateReturn does (READ COMMITTED: a concurrent rotation
		// waits for the row lock, re-checks used_at IS NULL against the
		// committed row and matches nothing) and only while its user exists,
		// whose organization and role it returns; ins stores the successor
		// only if upd spent the token and the successor claims the spent
		// token's session and user. Both run whether or not the final SELECT
		// reads them, in one snapshot, atomically.
		rotateCTE: "WITH upd AS (" +
			"UPDATE {p}refresh_tokens t SET used_at = ?, successor_hash = ? FROM {p}users u, {p}sessions s " +
			"WHERE t.id_hash = ? AND t.used_at IS NULL AND u.id = t.user_id AND " +
			"s.id = t.session_id AND s.revoked_at IS NULL AND " + inSessionOrg("t.user_id") + " " +
			"RETURNING t.session_id, t.user_id, t.created_at, t.expires_at, t.successor_hash, " +
			sessionOrg + " AS organization_id, " + sessionRole("t.user_id") + " AS role), " +
			"ins AS (" +
			"INSERT INTO {p}refresh_tokens (id_hash, session_id, user_id, created_at, expires_at, used_at) " +
			"SELECT upd.successor_hash, upd.session_id, upd.user_id, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) " +
			"FROM upd WHERE upd.session_id = ? AND upd.user_id = ? RETURNING 1) " +
			"SELECT session_id, user_id, created_at, expires_at, organization_id, role, (SELECT COUNT(*) FROM ins) FROM upd",
		// A locking read in InnoDB locks the token row, its session row, its
		// successor's row and its user's row and reads their latest
		// committed versions, so concurrent rotations of one token queue up
		// here and each sees the previous one's used_at and successor.
		rotateLock:  "SELECT " + tokenStateColumns + " " + tokenStateFrom + " WHERE t.id_hash = ? FOR UPDATE",
		rotateSpend: "UPDATE {p}refresh_tokens SET used_at = ?, successor_hash = ? WHERE id_hash = ? AND used_at IS NULL",
		tokenState:  "SELECT " + tokenStateColumns + " " + tokenStateFrom + " WHERE t.id_hash = ?",

		// The last use is derived from the newest refresh token, so that a
		// rotation writes nothing more to the session; the index on
		// refresh_tokens.session_id serves the subquery.
		userSessions: "SELECT s.id, s.user_id, s.created_at, s.expires_at, s.revoked_at, s.user_agent, s.ip_address, s.amr, s.aal, s.organization_id, " +
			"COALESCE((SELECT MAX(t.created_at) FROM {p}refresh_tokens t WHERE t.session_id = s.id), s.created_at) " +
			"FROM {p}sessions s WHERE s.user_id = ? AND s.revoked_at IS NULL " +
			"ORDER BY s.created_at DESC, s.id DESC",
		revokeUserSessions: "UPDATE {p}sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id <> ?",

		insertOnce: "INSERT INTO {p}one_time_tokens (id_hash, purpose, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)",
		// As with rotation: under PostgreSQL's READ COMMITTED a concurrent
		// consumption waits for the row lock, re-checks used_at IS NULL and
		// matches nothing; SQLite runs writers one at a time.
		consumeReturning: "UPDATE {p}one_time_tokens SET used_at = ? " +
			"WHERE id_hash = ? AND purpose = ? AND used_at IS NULL " +
			"RETURNING user_id, created_at, expires_at",
		consumeLock: "SELECT user_id, created_at, expires_at, used_at FROM {p}one_time_tokens " +
			"WHERE id_hash = ? AND purpose = ? FOR UPDATE",
		consumeSpend: "UPDATE {p}one_time_tokens SET used_at = ? WHERE id_hash = ? AND used_at IS NULL",
		revokeOnce:   "UPDATE {p}one_time_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL",
		oneTimeToken: "SELECT user_id, created_at, expires_at FROM {p}one_time_tokens " +
			"WHERE id_hash = ? AND purpose = ? AND used_at IS NULL",

		factorDeleteUnverified: "DELETE FROM {p}second_factors WHERE user_id = ? AND verified_at IS NULL",
		factorCount:            "SELECT COUNT(*) FROM {p}second_factors WHERE user_id = ?",
		factorInsert:           "INSERT INTO {p}second_factors (" + factorColumns + ") VALUES (?, ?, ?, ?, ?, ?)",
		factorByUser:           "SELECT " + factorColumns + " FROM {p}second_factors WHERE user_id = ?",
		factorConfirm:          "UPDATE {p}second_factors SET verified_at = ?, last_step = ? WHERE id = ? AND verified_at IS NULL AND last_step < ?",
		factorUser:             "SELECT user_id FROM {p}second_factors WHERE id = ?",
		// A conditional update: under PostgreSQL's READ COMMITTED and
		// InnoDB's locking UPDATE a concurrent use of the same step waits
		// for the row lock, re-checks last_step < ? against the committed
		// row and matches nothing; SQLite runs writers one at a time.
		factorUseStep:     "UPDATE {p}second_factors SET last_step = ? WHERE id = ? AND last_step < ?",
		factorExists:      "SELECT COUNT(*) FROM {p}second_factors WHERE id = ?",
		factorDelete:      "DELETE FROM {p}second_factors WHERE user_id = ?",
		recoveryDeleteAll: "DELETE FROM {p}recovery_codes WHERE user_id = ?",
		recoveryInsert:    "INSERT INTO {p}recovery_codes (user_id, code_hash) VALUES (?, ?)",
		recoveryUse:       "DELETE FROM {p}recovery_codes WHERE user_id = ? AND code_hash = ?",
		recoveryCount:     "SELECT COUNT(*) FROM {p}recovery_codes WHERE user_id = ?",

		migrationsTable: "CREATE TABLE IF NOT EXISTS {p}schema_migrations (version INTEGER NOT NULL PRIMARY KEY)",
		appliedVersions: "SELECT version FROM {p}schema_migrations",
		recordVersion:   "INSERT INTO {p}schema_migrations (version) VALUES (?)",
		schemaVersion:   "SELECT COALESCE(MAX(version), 0) FROM {p}schema_migrations",
	}

	switch d {
	case MySQL:
		// MySQL allows no LIMIT inside an IN subquery but has DELETE ...
		// LIMIT; ORDER BY makes each batch deterministic and walks the
		// index.
		q.deleteTokens = "DELETE FROM {p}refresh_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT " + limit
		q.deleteOrphans = "DELETE FROM {p}refresh_tokens WHERE session_id IN (" +
			"SELECT id FROM {p}sessions WHERE expires_at < ?) LIMIT " + limit
		q.deleteSessions = "DELETE FROM {p}sessions WHERE expires_at < ? ORDER BY expires_at LIMIT " + limit
		q.deleteOnce = "DELETE FROM {p}one_time_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT " + limit
		q.migrationsTable += " ENGINE=InnoDB"
		q.tableExists = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	default:
		q.deleteTokens = "DELETE FROM {p}refresh_tokens WHERE id_hash IN (" +
			"SELECT id_hash FROM {p}refresh_tokens WHERE expires_at < ? LIMIT " + limit + ")"
		q.deleteOrphans = "DELETE FROM {p}refresh_tokens WHERE id_hash IN (" +
			"SELECT t.id_hash FROM {p}refresh_tokens t JOIN {p}sessions s ON s.id = t.session_id " +
			"WHERE s.expires_at < ? LIMIT " + limit + ")"
		q.deleteSessions = "DELETE FROM {p}sessions WHERE id IN (" +
			"SELECT id FROM {p}sessions WHERE expires_at < ? LIMIT " + limit + ")"
		q.deleteOnce = "DELETE FROM {p}one_time_tokens WHERE id_hash IN (" +
			"SELECT id_hash FROM {p}one_time_tokens WHERE expires_at < ? LIMIT " + limit + ")"
		if d == Postgres {
			q.tableExists = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
		} else {
			q.tableExists = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
		}
	}

	r := strings.NewReplacer("{p}", prefix)
	for _, s := range q.all() {
		*s = r.Replace(*s)
		if d == Postgres {
			*s = rebind(*s)
		}
	}
	return q
}

// all returns pointers to every statement of q.
func (q *queries) all() []*string {
	return []*string{
		&q.insertUser, &q.userByID, &q.userByEmail, &q.updatePassword, &q.userExists,
		&q.deleteUserToken, &q.deleteUserSess, &q.deleteUserOnce, &q.deleteUser, &q.setVerified,
		&q.insertSession, &q.insertToken, &q.session, &q.revokeSession, &q.sessionExists,
		&q.rotateReturn, &q.rotateCTE, &q.rotateLock, &q.rotateSpend, &q.tokenState,
		&q.deleteTokens, &q.deleteOrphans, &q.deleteSessions, &q.deleteOnce,
		&q.userSessions, &q.revokeUserSessions,
		&q.insertOnce, &q.consumeReturning, &q.consumeLock, &q.consumeSpend, &q.revokeOnce, &q.oneTimeToken,
		&q.factorDeleteUnverified, &q.factorCount, &q.factorInsert, &q.factorByUser, &q.factorConfirm,
		&q.factorUser, &q.factorUseStep, &q.factorExists, &q.factorDelete,
		&q.recoveryDeleteAll, &q.recoveryInsert, &q.recoveryUse, &q.recoveryCount,
		&q.migrationsTable, &q.appliedVersions, &q.recordVersion, &q.tableExists, &q.schemaVersion,
	}
}
