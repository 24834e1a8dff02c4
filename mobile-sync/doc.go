// Package mobilesync is the device side of Patrol: a field device's own
// SQLite copy of what its inspector may see, the outbox of work done
// offline, and the sync loop that pushes that work and pulls the server's
// changes.
//
// Every user action is one local write transaction, so a crash at any point
// leaves either the whole action or none of it. A mutation leaves the
// outbox only in the transaction that records the server's answer for it,
// and a pulled page is applied together with its cursor; from any crash the
// next Sync converges. The package never imports the server: it speaks only
// the wire types of package schema.
//
// What a squad leader's decisions leave for the inspector is known offline
// too: Tasks lists returned inspections to amend (AmendInspection reopens
// one under its id) and re-checks of ordered findings of the ledger
// (StartInspectionWith with StartOptions.RecheckOf links the new
// inspection to the finding), planned visits, and complaints from the
// public that the squad investigates (StartOptions.ComplaintID names the
// complaint; the server links the two when the inspection arrives). A
// complaint reaches the device only as its task: what and where, never
// who complained.
package mobilesync
