package schema

import "time"

// Limits of plausibility for what devices claim about time and place; the
// server applies them on push and the device may warn with them offline.
const (
	// MaxHLCLead is how far a mutation's HLC may run ahead of the server
	// clock before the server restamps it: a device clock hours ahead must
	// not win every future merge.
	MaxHLCLead = 5 * time.Minute
	// MaxInspectionAge is how old a pushed inspection's start may be before
	// its times are flagged as suspect.
	MaxInspectionAge = 400 * 24 * time.Hour
	// ReassignmentGrace is how long after a venue left a squad that squad's
	// devices may still deliver inspections of it (work done before the move).
	ReassignmentGrace = 30 * 24 * time.Hour
)
