package app_test

import (
	"strings"
	"testing"
	"time"

	"newsletter/internal/app"
)

func TestSessionSettings(t *testing.T) {
	c, err := app.FromEnv(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionIdle != 2*time.Hour || c.SessionMax != 12*time.Hour || c.LoginRate != 20 || c.LoginRatePerClient != 100 {
		t.Errorf("defaults: idle %s max %s rate %d per client %d", c.SessionIdle, c.SessionMax, c.LoginRate, c.LoginRatePerClient)
	}
	c, err = app.FromEnv(envOf(map[string]string{"NEWSLETTER_SESSION_IDLE": "30m", "NEWSLETTER_SESSION_MAX": "8h",
		"NEWSLETTER_LOGIN_RATE": "5", "NEWSLETTER_LOGIN_RATE_PER_CLIENT": "0"}))
	if err != nil || c.SessionIdle != 30*time.Minute || c.SessionMax != 8*time.Hour || c.LoginRate != 5 || c.LoginRatePerClient != 0 {
		t.Errorf("read: %v idle %s max %s rate %d per client %d", err, c.SessionIdle, c.SessionMax, c.LoginRate, c.LoginRatePerClient)
	}
	for name, v := range map[string]string{
		"NEWSLETTER_SESSION_IDLE": "2 hours", "NEWSLETTER_SESSION_MAX": "12", "NEWSLETTER_LOGIN_RATE": "veel",
		"NEWSLETTER_LOGIN_RATE_PER_CLIENT": "1.5",
	} {
		if _, err := app.FromEnv(envOf(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), "e.g. "+name+"=") {
			t.Errorf("%s=%q: %v", name, v, err)
		}
	}
	for name, v := range map[string]string{
		"NEWSLETTER_SESSION_IDLE": "-1h", "NEWSLETTER_SESSION_MAX": "-1s", "NEWSLETTER_LOGIN_RATE": "-1",
		"NEWSLETTER_LOGIN_RATE_PER_CLIENT": "-3",
	} {
		if _, err := app.FromEnv(envOf(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v", name, v, err)
		}
	}
}
