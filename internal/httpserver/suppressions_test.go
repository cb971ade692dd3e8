package httpserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct{ Error, Code string }
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", rec.Body, err)
	}
	return e.Error
}

// The API asks for a reason exactly where the CLI does (app.Suppress and
// app.Unsuppress, behind `suppressions add/rm --reason`), with the same
// message.
func TestSuppressionsNeedReason(t *testing.T) {
	t.Parallel()
	a := openApp(t, nil)
	ctx := context.Background()
	h := serve(a, nil)
	const addr = "weg@example.org"
	suppressed := func() bool {
		t.Helper()
		sp, err := a.Suppressions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sp {
			if s.Email == addr {
				return true
			}
		}
		return false
	}
	_, cliAdd := a.Suppress(ctx, addr, "")
	cliRm := a.Unsuppress(ctx, addr, "")
	if cliAdd == nil || cliRm == nil {
		t.Fatal("the application accepts a suppression change without a reason")
	}

	for _, body := range []string{`{"email":"` + addr + `"}`, `{"email":"` + addr + `","reason":""}`, `{"email":"` + addr + `","reason":"  "}`} {
		rec := do(h, "POST", "/api/v1/suppressions", body, bearer(testToken))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", body, rec.Code)
			continue
		}
		if msg := errorOf(t, rec); !strings.Contains(msg, "reason") || msg != cliAdd.Error() {
			t.Errorf("POST %s: message %q, want the CLI's %q naming the reason", body, msg, cliAdd.Error())
		}
	}
	if suppressed() {
		t.Fatal("suppressed without a reason")
	}
	if rec := do(h, "POST", "/api/v1/suppressions", `{"email":"`+addr+`","reason":"asked by phone"}`, bearer(testToken)); rec.Code != http.StatusCreated {
		t.Fatalf("POST with a reason: %d %s", rec.Code, rec.Body)
	}
	if !suppressed() {
		t.Fatal("not suppressed after POST with a reason")
	}

	for _, q := range []string{"", "?reason=", "?reason=%20%20", "?why=typo"} {
		rec := do(h, "DELETE", "/api/v1/suppressions/"+addr+q, "", bearer(testToken))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("DELETE%s: %d, want 400", q, rec.Code)
			continue
		}
		if msg := errorOf(t, rec); !strings.Contains(msg, "reason") || msg != cliRm.Error() {
			t.Errorf("DELETE%s: message %q, want the CLI's %q naming the reason", q, msg, cliRm.Error())
		}
	}
	if !suppressed() {
		t.Fatal("a DELETE without a reason removed the suppression")
	}
	if rec := do(h, "DELETE", "/api/v1/suppressions/"+addr+"?reason=typo+in+address", "", bearer(testToken)); rec.Code != http.StatusNoContent {
		t.Fatalf("DELETE with a reason: %d %s", rec.Code, rec.Body)
	}
	if suppressed() {
		t.Error("still suppressed after DELETE with a reason")
	}
}
