// Package redisproc runs a throwaway redis-server child process on a free
// loopback port, memory only, for `newsletter dev` and for the tests. The
// child dies with this process, even on kill -9.
package redisproc
