// Package photo is the device side of photo evidence: it reads what a photo
// file is (hash, size, media type sniffed from the bytes, capture time and
// GPS position from EXIF) so that the inspection record can name the exact
// bytes, and it uploads those bytes to the server with the resumable offset
// protocol, so that a cut mobile connection never costs the bytes already
// sent. It depends only on the standard library, golang.org/x/image and
// schema, so that it can be built for phones.
package photo

import "github.com/patrolhq/patrol/schema"

// Media types that photo evidence may have, as sniffed from the bytes.
const (
	MediaJPEG = schema.MediaJPEG
	MediaPNG  = schema.MediaPNG
	MediaHEIC = schema.MediaHEIC
	MediaHEIF = schema.MediaHEIF
	MediaWebP = schema.MediaWebP
)

// Sniff tells the media type of a photo from its first bytes, never from a
// file name; the rules are the contract's (schema.SniffMedia), so device and
// server judge a file alike.
func Sniff(head []byte) (string, error) { return schema.SniffMedia(head) }
