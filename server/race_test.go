//go:build race

package server_test

// raceShadow is how many times over the race detector makes the process
// hold what the program allocates (its shadow memory for every heap word),
// for tests that bound the process's memory.
const raceShadow = 3
