package schema

import "fmt"

// Refusals of ids a pusher may not use. An id of an object the pusher's
// squad cannot see is answered exactly as an id that nobody uses, or by a
// refusal that says only that the id cannot be used, so that a push never
// tells whether another squad's (or another inspector's) venue or
// inspection exists. Each answer still says what to do.

// takenID refuses to make a new object of kind what under id, which the
// server holds already for somebody else. Ids are random: a device that
// meets one simply makes another.
func takenID(mutationID, what, id string) MutationResult {
	return Reject(mutationID, CodeConflict, fmt.Sprintf("%s id %s cannot be used; make a new id", what, id))
}

// unknownVenue refuses a mutation naming a venue that is not the pusher's
// squad's: one the server does not have, and one of another squad, alike.
func unknownVenue(mutationID, venueID string) MutationResult {
	return Reject(mutationID, CodeNotFound, fmt.Sprintf(
		"venue %s is not known to the server as a venue of your squad; if it was found in the field, its venue.create must be pushed first", venueID))
}
