package integration

// Benchmarks of sqlstore and of the Authenticator on it, for goals G10-G13
// of spec/performance.md. Each goal's numerator and denominator are here, so
// that one run yields both:
//
//	G10  BenchmarkStoreRotate/X ÷ BenchmarkBaseline{SQLite,PG,MySQL}RotationTx/X
//	G11  BenchmarkRefresh/sqlite_{mem,wal_normal,wal_full} (refresh/s)
//	G12  BenchmarkRefresh/postgres, BenchmarkRefreshParallel/postgres (refresh/s),
//	     beside BenchmarkBaselinePGRotationTx and BenchmarkBaselinePGRotationTxParallel
//	G13  BenchmarkRefresh/X (stmts/op)
//
// SQLite always runs; PostgreSQL and MySQL/MariaDB when their DSN is set,
// each benchmark under its own table prefix, dropped afterwards. A smoke
// run:
//
//	go test -run '^$' -bench . -benchtime=1x -count=1 github.com/ingestiq/auth/integration

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
)

// refreshClients is the number of concurrent clients of
// BenchmarkRefreshParallel (G12).
const refreshClients = 8

// rotationTx holds the hand-written statements of a refresh-token rotation
// on the library's schema, as an application would write them with
// database/sql: the same statements sqlstore runs, without the store, and,
// like the store's, prepared once per connection (see prepare).
type rotationTx struct {
	spend  string // UPDATE ... RETURNING (SQLite, PostgreSQL) or SELECT ... FOR UPDATE (MySQL)
	mark   string // MySQL: the UPDATE of the locked row
	insert string
	// cte, when set, replaces the others: the whole rotation as one
	// statement (PostgreSQL), run without BEGIN and COMMIT, that returns the
	// rows it inserted.
	cte  string
	opts *sql.TxOptions

	spendSt, markSt, insertSt, cteSt *sql.Stmt
}

// prepare prepares r's statements on db, closed when b ends. database/sql
// prepares each once per pooled connection, and Tx.StmtContext reuses
// them inside a transaction, as sqlstore's statement cache does.
func (r *rotationTx) prepare(b *testing.B, db *sql.DB) {
	b.Helper()
	for _, p := range []struct {
		query string
		st    **sql.Stmt
	}{{r.spend, &r.spendSt}, {r.mark, &r.markSt}, {r.insert, &r.insertSt}, {r.cte, &r.cteSt}} {
		if p.query == "" {
			continue
		}
		st, err := db.PrepareContext(b.Context(), p.query)
		if err != nil {
			b.Fatalf("prepare %q: %v", p.query, err)
		}
		b.Cleanup(func() { st.Close() })
		*p.st = st
	}
}

// run rotates the token old into next (with the same session, user and
// expiry) in one transaction, failing the benchmark on an error.
func (r *rotationTx) run(b *testing.B, db *sql.DB, old, next string, at, expires int64) {
	if err := r.try(b.Context(), db, old, next, at, expires); err != nil {
		b.Fatal(err)
	}
}

// try is run without a *testing.B, for RunParallel's goroutines: it
// returns the error.
func (r *rotationTx) try(ctx context.Context, db *sql.DB, old, next string, at, expires int64) error {
	if r.cteSt != nil {
		var n int
		if err := r.cteSt.QueryRowContext(ctx, at, old, next, at, expires).Scan(&n); err != nil {
			return fmt.Errorf("rotate %s: %w", old, err)
		}
		if n != 1 {
			return fmt.Errorf("rotate %s: inserted %d rows", old, n)
		}
		return nil
	}
	tx, err := db.BeginTx(ctx, r.opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var (
		sessionID, userID string
		created, exp      int64
	)
	if r.markSt == nil {
		err = tx.StmtContext(ctx, r.spendSt).QueryRowContext(ctx, at, old).Scan(&sessionID, &userID, &created, &exp)
	} else {
		var used, revoked sql.NullInt64
		err = tx.StmtContext(ctx, r.spendSt).QueryRowContext(ctx, old).Scan(&sessionID, &userID, &created, &exp, &used, &revoked)
		if err == nil && (used.Valid || revoked.Valid) {
			return fmt.Errorf("token %s: used %v, session revoked %v", old, used.Valid, revoked.Valid)
		}
		if err == nil {
			_, err = tx.StmtContext(ctx, r.markSt).ExecContext(ctx, at, old)
		}
	}
	if err != nil {
		return fmt.Errorf("spend %s: %w", old, err)
	}
	if _, err := tx.StmtContext(ctx, r.insertSt).ExecContext(ctx, next, sessionID, userID, at, expires, nil); err != nil {
		return fmt.Errorf("insert successor: %w", err)
	}
	return tx.Commit()
}

// sqliteRotationTx is the rotation of SQLite (and, rebound, PostgreSQL): a
// conditional UPDATE ... RETURNING that spends the token while it is unused
// and its session live, and the INSERT of its successor.
func sqliteRotationTx(d *benchDB) *rotationTx {
	t, s := d.table("refresh_tokens"), d.table("sessions")
	return &rotationTx{
		spend: "UPDATE " + t + " SET used_at = ? WHERE id_hash = ? AND used_at IS NULL" +
			" AND EXISTS (SELECT 1 FROM " + s + " WHERE " + s + ".id = " + t + ".session_id AND " + s + ".revoked_at IS NULL)" +
			" RETURNING session_id, user_id, created_at, expires_at",
		insert: "INSERT INTO " + t + " (id_hash, session_id, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)",
	}
}

// pgRotationTx is sqliteRotationTx with PostgreSQL's placeholders, at READ
// COMMITTED as sqlstore runs it.
func pgRotationTx(d *benchDB) *rotationTx {
	t, s := d.table("refresh_tokens"), d.table("sessions")
	return &rotationTx{
		spend: "UPDATE " + t + " SET used_at = $1 WHERE id_hash = $2 AND used_at IS NULL" +
			" AND EXISTS (SELECT 1 FROM " + s + " WHERE " + s + ".id = " + t + ".session_id AND " + s + ".revoked_at IS NULL)" +
			" RETURNING session_id, user_id, created_at, expires_at",
		insert: "INSERT INTO " + t + " (id_hash, session_id, user_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)",
		opts:   &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	}
}

// pgRotationCTE is pgRotationTx as one statement, which PostgreSQL runs
// atomically without BEGIN and COMMIT: a data-modifying WITH whose INSERT
// stores the successor only if the UPDATE spent the token. It is the shape
// of sqlstore's rotation on PostgreSQL, which also records the successor
// and reads the user's organization and role.
func pgRotationCTE(d *benchDB) *rotationTx {
	t, s := d.table("refresh_tokens"), d.table("sessions")
	return &rotationTx{
		cte: "WITH upd AS (UPDATE " + t + " SET used_at = $1 WHERE id_hash = $2 AND used_at IS NULL" +
			" AND EXISTS (SELECT 1 FROM " + s + " WHERE " + s + ".id = " + t + ".session_id AND " + s + ".revoked_at IS NULL)" +
			" RETURNING session_id, user_id), ins AS (" +
			"INSERT INTO " + t + " (id_hash, session_id, user_id, created_at, expires_at, used_at)" +
			" SELECT $3, session_id, user_id, CAST($4 AS BIGINT), CAST($5 AS BIGINT), NULL FROM upd RETURNING 1)" +
			" SELECT COUNT(*) FROM ins",
	}
}

// mysqlRotationTx is the rotation of MySQL, which has no UPDATE ...
// RETURNING: lock the token and its session, check them, spend the token,
// insert the successor.
func mysqlRotationTx(d *benchDB) *rotationTx {
	t, s := d.table("refresh_tokens"), d.table("sessions")
	return &rotationTx{
		spend: "SELECT t.session_id, t.user_id, t.created_at, t.expires_at, t.used_at, s.revoked_at" +
			" FROM " + t + " t JOIN " + s + " s ON s.id = t.session_id WHERE t.id_hash = ? FOR UPDATE",
		mark:   "UPDATE " + t + " SET used_at = ? WHERE id_hash = ? AND used_at IS NULL",
		insert: "INSERT INTO " + t + " (id_hash, session_id, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)",
	}
}

// benchRotationTx times the hand-written rotation tx of d in a chain: each
// iteration spends the token the previous one inserted.
func benchRotationTx(b *testing.B, c benchConfig, tx func(*benchDB) *rotationTx) {
	d := openBench(b, c)
	s, _ := d.seedSession(b, chainHash(0))
	r := tx(d)
	r.prepare(b, d.db)
	at, expires := base.UnixMilli(), s.ExpiresAt.UnixMilli()
	var i uint64
	for b.Loop() {
		r.run(b, d.db, chainHash(i), chainHash(i+1), at, expires)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}

// BenchmarkBaselineSQLiteRotationTx is the denominator of G10 on SQLite: the
// raw rotation transaction on the library's schema, created by Migrate.
func BenchmarkBaselineSQLiteRotationTx(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  benchConfig
	}{{"mem", benchSQLiteMem}, {"wal_normal", benchSQLiteNormal}, {"wal_full", benchSQLiteFull}} {
		b.Run(c.name, func(b *testing.B) { benchRotationTx(b, c.cfg, sqliteRotationTx) })
	}
}

// BenchmarkBaselinePGRotationTx is the denominator of G10 on PostgreSQL.
func BenchmarkBaselinePGRotationTx(b *testing.B) {
	benchRotationTx(b, benchPostgres, pgRotationTx)
}

// BenchmarkBaselinePGRotationCTE is the raw rotation of
// BenchmarkBaselinePGRotationTx as one statement (pgRotationCTE), the shape
// sqlstore's rotation has on PostgreSQL. G10 and G20 keep the transaction
// as their denominator; this one shows what the single statement saves.
func BenchmarkBaselinePGRotationCTE(b *testing.B) {
	benchRotationTx(b, benchPostgres, pgRotationCTE)
}

// BenchmarkBaselinePGRotationCTEParallel is BenchmarkBaselinePGRotationCTE
// run by refreshClients goroutines at once, each on its own chain.
func BenchmarkBaselinePGRotationCTEParallel(b *testing.B) {
	benchRotationTxParallel(b, benchPostgres, pgRotationCTE)
}

// BenchmarkBaselinePGRotationTxParallel is the raw rotation transaction of
// BenchmarkBaselinePGRotationTx run by refreshClients goroutines at once,
// each on the chain of its own session: the ceiling for
// BenchmarkRefreshParallel/postgres (G12).
func BenchmarkBaselinePGRotationTxParallel(b *testing.B) {
	benchRotationTxParallel(b, benchPostgres, pgRotationTx)
}

// BenchmarkBaselineRotationTxParallel is the raw rotation transaction run
// by refreshClients goroutines at once on each database of
// BenchmarkRefreshParallel: the denominator of G20 with 8 clients.
func BenchmarkBaselineRotationTxParallel(b *testing.B) {
	for _, c := range []struct {
		cfg benchConfig
		tx  func(*benchDB) *rotationTx
	}{{benchSQLiteNormal, sqliteRotationTx}, {benchPostgres, pgRotationTx}, {benchMySQL, mysqlRotationTx}} {
		b.Run(c.cfg.name, func(b *testing.B) { benchRotationTxParallel(b, c.cfg, c.tx) })
	}
}

// benchRotationTxParallel times the raw rotation transaction of c run by
// refreshClients goroutines, each on the chain of its own session.
func benchRotationTxParallel(b *testing.B, c benchConfig, tx func(*benchDB) *rotationTx) {
	d := openBench(b, c)
	r := tx(d)
	r.prepare(b, d.db)
	procs := runtime.GOMAXPROCS(0)
	par := (refreshClients + procs - 1) / procs
	type chain struct {
		i       uint64
		expires int64
	}
	chains := make(chan *chain, par*procs)
	for g := range par * procs {
		s, _ := d.seedSession(b, chainHash(chainStart(g)))
		chains <- &chain{i: chainStart(g), expires: s.ExpiresAt.UnixMilli()}
	}
	at := base.UnixMilli()
	ctx := b.Context()
	var (
		failed   atomic.Bool
		firstErr error
		once     sync.Once
	)
	b.SetParallelism(par)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := <-chains
		for pb.Next() {
			if err := r.try(ctx, d.db, chainHash(c.i), chainHash(c.i+1), at, c.expires); err != nil {
				once.Do(func() { firstErr = err })
				failed.Store(true)
				return
			}
			c.i++
		}
	})
	b.StopTimer()
	if failed.Load() {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
	b.ReportMetric(float64(par*procs), "clients")
}

// BenchmarkBaselineMySQLRotationTx is the denominator of G10 on
// MySQL/MariaDB: SELECT ... FOR UPDATE, UPDATE and INSERT.
func BenchmarkBaselineMySQLRotationTx(b *testing.B) {
	benchRotationTx(b, benchMySQL, mysqlRotationTx)
}

// BenchmarkStoreRotate is the numerator of G10: sqlstore's
// RotateRefreshToken alone, in a chain, on each database.
func BenchmarkStoreRotate(b *testing.B) {
	for _, c := range []benchConfig{benchSQLiteMem, benchSQLiteNormal, benchSQLiteFull, benchPostgres, benchMySQL} {
		b.Run(c.name, func(b *testing.B) {
			d := openBench(b, c)
			s, rt := d.seedSession(b, chainHash(0))
			ctx := b.Context()
			old := rt.IDHash
			var i uint64
			for b.Loop() {
				i++
				next := &auth.RefreshToken{IDHash: chainHash(i), SessionID: s.ID, UserID: s.UserID, CreatedAt: base, ExpiresAt: s.ExpiresAt}
				if _, err := d.st.RotateRefreshToken(ctx, old, next, base); err != nil {
					b.Fatalf("RotateRefreshToken: %v", err)
				}
				old = next.IDHash
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
		})
	}
}

// BenchmarkRefresh is G11 and G12 (serial): POST /refresh end to end
// through Handler with httptest, each iteration presenting the refresh
// token the previous one returned. It also reports the statements of one
// refresh (G13), counted after the timed loop on a second pool.
func BenchmarkRefresh(b *testing.B) {
	for _, c := range []benchConfig{benchSQLiteMem, benchSQLiteNormal, benchSQLiteFull, benchPostgres, benchMySQL} {
		b.Run(c.name, func(b *testing.B) {
			d := openBench(b, c)
			a := d.authenticator(b, d.db)
			chain := &refreshChain{h: a.Handler(), token: register(b, a).RefreshToken}
			b.ReportAllocs()
			for b.Loop() {
				if err := chain.next(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refresh/s")
			d.reportStmtsPerRefresh(b, chain.token)
		})
	}
}

// BenchmarkRefreshParallel is G12 with concurrency: refreshClients
// goroutines, whatever GOMAXPROCS, each rotating the chain of its own
// session through one Handler and one connection pool.
func BenchmarkRefreshParallel(b *testing.B) {
	for _, c := range []benchConfig{benchSQLiteNormal, benchPostgres, benchMySQL} {
		b.Run(c.name, func(b *testing.B) {
			d := openBench(b, c)
			a := d.authenticator(b, d.db)
			h := a.Handler()
			procs := runtime.GOMAXPROCS(0)
			par := (refreshClients + procs - 1) / procs
			chains := make(chan *refreshChain, par*procs)
			for range par * procs {
				chains <- &refreshChain{h: h, token: register(b, a).RefreshToken}
			}
			var (
				failed   atomic.Bool
				firstErr error
				once     sync.Once
			)
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				chain := <-chains
				for pb.Next() {
					if err := chain.next(); err != nil {
						once.Do(func() { firstErr = err })
						failed.Store(true)
						return
					}
				}
			})
			b.StopTimer()
			if failed.Load() {
				b.Fatal(firstErr)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refresh/s")
			b.ReportMetric(float64(par*procs), "clients")
		})
	}
}

// BenchmarkVerify is Authenticator.Verify with its session check (one
// store read) on each database.
func BenchmarkVerify(b *testing.B) {
	benchVerify(b, nil)
}

// BenchmarkVerifyCached is BenchmarkVerify with the optional session
// cache (Config.Sessions.SessionCacheTTL): the effect of trusting a live session for
// up to 10 s instead of reading it on every verification.
func BenchmarkVerifyCached(b *testing.B) {
	benchVerify(b, func(c *auth.Config) { c.Sessions.SessionCacheTTL = 10 * time.Second })
}

func benchVerify(b *testing.B, tweak func(*auth.Config)) {
	for _, c := range []benchConfig{benchSQLiteNormal, benchPostgres, benchMySQL} {
		b.Run(c.name, func(b *testing.B) {
			d := openBench(b, c)
			a := d.authenticator(b, d.db, tweak)
			token := register(b, a).AccessToken
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(ctx, token); err != nil {
					b.Fatalf("Verify: %v", err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verify/s")
		})
	}
}
