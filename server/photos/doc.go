// Package photos receives, verifies, stores and serves photo evidence on
// the server. Photos are content-addressed: the URL names the SHA-256 of the
// bytes, the inspection record names the same hash, and the server keeps
// nothing whose bytes hash to anything else.
//
// # Resumable upload protocol
//
// A small subset of tus 1.0 (no creation step: the hash is the upload's
// name). All routes need a bearer token; Access decides who may upload
// (a device one of whose inspections names the hash) and who may read
// (leaders of the squads whose inspections name it with a proven claim,
// devices whose own claim is proven, and admins; see schema.ClaimPhotos).
//
// Uploads are staged per device: what a device has sent of a photo is
// its own, and no other device sees, continues or commits it. A device
// whose claim to the photo is pending is answered as if the server had no
// such photo, stored or not: it proves its claim by sending all the bytes
// itself, which are then verified like any upload but not stored again.
//
// HEAD /api/v1/uploads/{sha256}
//
//   - 200, Upload-Offset: N — this device's upload holds the first N bytes
//     (0 when nothing has arrived), plus Upload-Length: L once it started.
//   - 200, Upload-Offset: L, Upload-Length: L, Patrol-Stored: true — the
//     photo is stored already (from this device or any other) and this
//     device's claim to it is proven: send nothing.
//
// PATCH /api/v1/uploads/{sha256}
//
// Headers: Upload-Offset (where this body starts), Upload-Length (size of
// the whole photo), Content-Type: application/offset+octet-stream. The body
// is the next bytes of the photo, any number of them up to the rest.
//
//   - The server waits up to a few seconds for another PATCH of the same
//     hash to finish (one upload per hash at a time); if it does not,
//     503 unavailable with Retry-After.
//   - Upload-Length over the size limit (default 25 MiB): 413 too_large.
//   - Upload-Offset differing from what the server holds: 409
//     offset_mismatch with the server's Upload-Offset; the body is not read
//     (clients send Expect: 100-continue, so it is not even sent).
//   - Upload-Length differing from the one the upload started with: 409
//     offset_mismatch with Upload-Offset: 0; a PATCH at offset 0 then
//     discards the staged bytes and starts over.
//   - The body is appended to StagingDir/{sha256}.{device}.part while it is
//     hashed. Every 4 MiB, at the end of the body and when the body breaks
//     off, the part file is fsynced and then the .state file beside it
//     (offset, length and the marshalled SHA-256 state) is replaced atomically. A
//     cut connection therefore keeps every byte that arrived, and a server
//     killed mid-body resumes from its last durable point: a part file
//     longer than its state is truncated to the state's offset.
//   - A body that breaks off (or a staging disk that fails) answers 503
//     unavailable with the durable Upload-Offset, if the client still
//     listens: retry, and HEAD tells where to resume.
//   - 204, Upload-Offset: N — the body was stored, N < Upload-Length.
//   - When N reaches Upload-Length: the digest must equal {sha256}, else
//     422 checksum_mismatch and the staged bytes are deleted. Then the
//     content is checked before anything decodes pixels: the type is
//     sniffed from the bytes (JPEG, PNG, HEIC/HEIF, WebP; else 415
//     unsupported_media), the dimensions are read with a config-only
//     decode (ispe property for HEIC/HEIF), and more than MaxPixels
//     (default 100 megapixels) is 413 too_large naming the dimensions; the
//     staged bytes are deleted after a refusal. Then the original bytes are
//     put into the blob store exactly as received, the photos row is
//     written, and the answer is 201 with Upload-Offset: L. The staged bytes
//     then go to the background thumbnail workers (see Thumbnail memory),
//     which derive a JPEG thumbnail (for HEIC/HEIF a JPEG preview, since
//     most browsers cannot show the original), store it under its own hash
//     and remove them. A failing blob store answers 503 and keeps the
//     staged bytes: a PATCH with an empty body at offset L retries the
//     commit without sending the photo again.
//   - A PATCH for a photo already stored answers 201 with Patrol-Stored:
//     true without reading the body, to a device whose claim is proven.
//   - A PATCH at offset 0 whose body is the whole photo is also streamed
//     into the blob store while it arrives, so that the photo crosses the
//     server once: the same bytes go to the part file, the hash, a
//     config-only header decode (JPEG, PNG, WebP; HEIC/HEIF is judged from
//     the part file at the end) and the store's Put. The Put never gets the
//     photo's last byte until the digest equals {sha256} and the content
//     checks passed; otherwise it is aborted and the store commits nothing
//     (a header refusal stops it at once). The end of such a body is made
//     durable only if the commit does not complete; a body that breaks off
//     is kept as above, and a store that fails mid-stream makes the server
//     finish the body into staging and commit from there.
//
// # Reading photos
//
// HEAD /api/v1/photos/{sha256} answers 200 with Content-Length when the
// photo is stored, else 404. GET /api/v1/photos/{sha256} serves the
// original with ETag "{sha256}" (If-None-Match gives 304) and byte ranges
// (206). GET /api/v1/photos/{sha256}/thumb serves the JPEG thumbnail
// (made from the stored original on the spot if the worker has not made it,
// say after a restart), turned upright as the JPEG's EXIF orientation (or
// the HEIF's irot/imir) says; for HEIC/HEIF it is the JPEG preview, while
// the original stays downloadable exactly as received. A
// photo whose thumbnail can never be made answers, from its recorded
// thumb_state and for good: 422 undecodable when its image data is corrupt
// or uses a feature the decoders lack, 413 too_large when decoding it would
// exceed the thumbnail budget; either message says the original is kept
// as received. A thumbnail asked for while the budget stays taken for 10 s
// answers 503 with Retry-After.
//
// # Thumbnail memory
//
// Thumbnails are decoded in a pool bounded twice: ThumbWorkers decodes at
// once (default GOMAXPROCS) and ThumbBudget bytes of estimated decode
// memory (default DefaultThumbBudget: a quarter of GOMEMLIMIT, else an
// eighth of the machine's memory, within 64 MiB–1 GiB). The estimate comes
// from the headers, read before any pixel is decoded (planThumbnail), and
// a decode waits in line until its estimate fits, so however many photos
// arrive at once the decodes hold at most the budget. PNG is never decoded
// whole: scalePNG averages its rows into the thumbnail while it inflates
// them, so a 100-megapixel or 16-bit PNG costs a few rows. JPEG and WebP
// have no reduced-size decode in image/jpeg and x/image/webp; one whose
// estimate exceeds the whole budget gets no thumbnail (too_large) rather
// than a decode that would break the bound for every other photo. HEIC/HEIF
// is decoded by libheif compiled to WebAssembly (github.com/gen2brain/heic
// on wazero), whole, after its estimate (from the ispe header, at 32 bytes
// a pixel) has been admitted like any other.
package photos
