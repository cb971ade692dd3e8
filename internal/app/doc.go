// Package app builds the program from one validated Config and holds the
// operations editors and admins run, shared by the command line and the
// HTTP API: create, preview, publish and test-send editions, import and
// export subscribers, manage suppressions, and report status.
package app
