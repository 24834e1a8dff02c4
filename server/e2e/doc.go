// Package e2e holds the end-to-end tests: the real server (in process or as
// the patrold binary) on a loopback port, driven by the real device library
// and the patrol command line. It has no code outside its tests.
package e2e
