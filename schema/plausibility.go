package schema

import "time"

// Limits of plausibility for what devices claim about time and place; the
// server applies them on push and the device warns with them offline.
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
	// MaxPhotoFutureSkew is how far past the device's clock a photo's
	// capture time may lie before it is suspect (cameras and phones
	// disagree a little).
	MaxPhotoFutureSkew = 5 * time.Minute
	// MaxPhotoAge is how long before the inspection a photo may have been
	// taken and still be plausible evidence of it.
	MaxPhotoAge = 365 * 24 * time.Hour
)

// HLCRunsAhead reports whether a device's HLC runs implausibly far ahead
// of the server clock reading now: the server restamps such a mutation and
// never lets such a clock drag its own.
func HLCRunsAhead(h HLC, now time.Time) bool {
	return h.Time().After(now.Add(MaxHLCLead))
}

// InspectionTimeSuspect reports whether the times of in are implausible at
// now (the server's receipt time, or the device's corrected clock before it
// submits): a start more than MaxHLCLead ahead or more than
// MaxInspectionAge ago, or an end before the start. A suspect record is
// kept and flagged for the leader, never refused.
func InspectionTimeSuspect(in *Inspection, now time.Time) bool {
	return in.StartedAt.After(now.Add(MaxHLCLead)) || in.StartedAt.Before(now.Add(-MaxInspectionAge)) ||
		(in.FinishedAt != nil && in.FinishedAt.Before(in.StartedAt))
}

// PhotoTimePlausible reports whether a capture time can belong to an
// inspection that started at inspectionStart, judged at now on the device's
// clock: not in the future beyond MaxPhotoFutureSkew, not more than
// MaxPhotoAge before the inspection. An implausible photo is kept and
// flagged (PhotoRef.TimeSuspect), never dropped: it may still be evidence,
// but a reviewer must look at its time.
func PhotoTimePlausible(captured, inspectionStart, now time.Time) bool {
	if captured.After(now.Add(MaxPhotoFutureSkew)) {
		return false
	}
	return !captured.Before(inspectionStart.Add(-MaxPhotoAge))
}
