package app_test

import (
	"strings"
	"testing"

	"newsletter/internal/app"
)

// A bad log format, metrics token or cluster URL names the variable and a
// valid value.
func TestOpsConfigErrors(t *testing.T) {
	for env, want := range map[string]string{
		"NEWSLETTER_LOG_FORMAT=xml":      "NEWSLETTER_LOG_FORMAT=text or NEWSLETTER_LOG_FORMAT=json",
		"NEWSLETTER_METRICS_TOKEN=short": "NEWSLETTER_METRICS_TOKEN is too short",
	} {
		k, v, _ := strings.Cut(env, "=")
		_, err := app.FromEnv(func(name string) string {
			if name == k {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", env, err, want)
		}
	}
	if _, err := app.FromEnv(func(name string) string {
		if name == "NEWSLETTER_LOG_FORMAT" {
			return "json"
		}
		return ""
	}); err != nil {
		t.Errorf("NEWSLETTER_LOG_FORMAT=json: %v", err)
	}
	if !app.IsClusterURL("redis://h:7000?addr=h:7001&addr=h:7002") || app.IsClusterURL("redis://h:6379/0") {
		t.Error("IsClusterURL does not tell the cluster form from a single Redis")
	}
}
