// Package integration holds the driver-backed tests of the sqlstore package:
// the storetest conformance suite and sqlstore's own tests, run on SQLite
// always and on PostgreSQL and MySQL/MariaDB when AUTH_TEST_POSTGRES_DSN and
// AUTH_TEST_MYSQL_DSN are set. It is a separate, unpublished module so that
// the database drivers it imports never reach the module graph of the
// library's users.
package integration
