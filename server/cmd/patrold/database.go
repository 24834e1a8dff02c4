package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres"
)

// databaseFlag registers --database, whose default is read from
// PATROL_DATABASE after parsing so that -help does not print a password.
func databaseFlag(fs *flag.FlagSet, p *string, getenv func(string) string) {
	fs.StringVar(p, "database", "", "PostgreSQL database shared by several replicas, postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]; "+
		"empty keeps the SQLite database in --data (PATROL_DATABASE; prefer the variable, flags show in ps)")
}

// checkDatabase refuses a --database that is not a PostgreSQL URL, before
// anything is opened.
func checkDatabase(dsn string) error {
	if dsn == "" {
		return nil
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return errors.New("--database must be a PostgreSQL URL such as postgres://patrol@db.internal/patrol " +
			"(scheme postgres or postgresql, a host and a database name)")
	}
	return nil
}

// openStore opens the PostgreSQL store when dsn is set; with no dsn it
// returns nil, and the server opens its SQLite store in the data
// directory. where names the database for the start-up line, without
// its password.
func openStore(ctx context.Context, dsn, dataDir string) (store.Store, string, error) {
	return openStoreOn(ctx, dsn, dataDir, nil)
}

// openStoreOn is openStore with the store's clock (nil: time.Now); the
// embedded store is opened by server.New on Config.Now instead.
func openStoreOn(ctx context.Context, dsn, dataDir string, now func() time.Time) (store.Store, string, error) {
	if dsn == "" {
		return nil, "SQLite in " + dataDir, nil
	}
	st, err := postgres.Open(ctx, dsn, now)
	if err != nil {
		return nil, "", fmt.Errorf("database: %w", err)
	}
	return st, "PostgreSQL " + redact(dsn), nil
}

// redact hides the password of a DSN.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
