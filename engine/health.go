package engine

import (
	"context"
	"time"
)

// A HealthReporter is a Source that reads from more than one database (a
// primary and read replicas) and can say which of them answer, so that a
// node is ready while any can serve pages and says which is down.
type HealthReporter interface {
	// Health returns the state of every database the source reads from,
	// as the source last found it: it must answer without waiting on a
	// database, since load balancers ask often.
	Health(ctx context.Context) []Database
}

// Database is the state of one database behind a source.
type Database struct {
	Role string // "primary" or "replica"
	Name string // host and port, never a password
	// Up: it answers; a replica that does not is out of rotation.
	Up    bool
	Err   error     // why it is down, when it is
	Since time.Time // when it last went up or down; zero if it never changed
	// Outs counts the times a replica was taken out of rotation;
	// Fallbacks the reads that went to the primary after it failed or
	// did not answer in time.
	Outs, Fallbacks int64
}
