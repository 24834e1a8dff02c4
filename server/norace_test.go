//go:build !race

package server_test

// raceShadow is 1 without the race detector: memory bounds hold as written.
const raceShadow = 1
