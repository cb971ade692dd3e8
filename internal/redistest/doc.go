// Package redistest gives tests a real, throwaway redis-server. The first test
// that asks starts one on a free port (or uses NEWSLETTER_TEST_REDIS_URL) and
// every test gets its own key prefix, so tests never see each other's data
// and never touch a shared Redis.
package redistest
