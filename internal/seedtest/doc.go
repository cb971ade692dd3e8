// Package seedtest tells tests where their editions are.
//
// There are two sets. The fixtures are the project's own editions, written
// for the tests and kept in the module under testdata/editions: they are
// always there, so the tests built on them always run. The seeds are the real
// editions of the first users; they are not part of the module but live
// beside it, in ../shared/seeds relative to the module root, and are an extra
// layer on top of the fixtures.
//
// A test of the seed layer calls Dir or Files. When the seeds are there it
// gets them; when they are not, the test is skipped with a message naming the
// absolute path where they would be, so a fresh clone passes. When the
// environment variable CI is set (to anything but the empty string) missing
// seeds fail the test instead: a CI run must not pass by skipping the layer
// it was set up to run.
//
// Optional is for fuzz corpora and the like, which use the seeds when they
// are there and never skip or fail over them.
package seedtest
