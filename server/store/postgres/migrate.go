package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patrolhq/patrol/schema"
)

// migrationLock is the advisory lock key under which migrations run, so
// that replicas starting together apply each migration once.
const migrationLock = 0x7061_7472_6f6c // "patrol"

// Migrate applies the PostgreSQL migrations (schema.MigrationsPostgres,
// the server set in PostgreSQL's dialect) that the database has not
// recorded yet, each in its own transaction together with its record, as
// schema.Migrate does for SQLite, and returns how many it applied. Each
// transaction holds an advisory lock, so concurrent replicas apply a
// migration once and the others see its record.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	migs, err := schema.Migrations(schema.MigrationsPostgres)
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, m := range migs {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil {
				return err
			}
			if done {
				return nil
			}
			// No arguments: pgx sends the file as one simple query, which
			// may hold several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, schema.FormatTime(time.Now())); err != nil {
				return err
			}
			applied++
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("schema: migrate postgres: %w", translate(err))
		}
	}
	return applied, nil
}
