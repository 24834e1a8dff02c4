// Package schema is the contract that the Patrol sync server and the field
// devices share: wire types of the sync protocol, error codes, the hybrid
// logical clock, the versioned checklists, the numbered SQL migrations and
// the single function that opens SQLite with the project's pragmas.
//
// It imports only the standard library and the SQLite driver, so both sides
// can depend on it without depending on each other.
package schema
