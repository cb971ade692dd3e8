package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// `editions ls` lists every edition, so an editor who lost an id loses no
// draft; --state filters, and an unknown state names the valid ones.
func TestEditionsLs(t *testing.T) {
	r := newRun(t)
	var ids []string
	for _, subj := range []string{"Eerste concept", "Tweede concept"} {
		ids = append(ids, strings.TrimSpace(r.ok("editions", "create", "--file", r.file(strings.ReplaceAll(subj, " ", "-")+".md", "---\nsubject: "+subj+"\n---\nTekst.\n"))))
	}
	var got struct {
		Editions []struct{ ID, State, Subject string } `json:"editions"`
	}
	if err := json.Unmarshal([]byte(r.ok("editions", "ls", "--json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Editions) != 2 {
		t.Fatalf("editions ls: %+v", got)
	}
	for _, e := range got.Editions {
		if e.State != "draft" || (e.ID != ids[0] && e.ID != ids[1]) {
			t.Errorf("listed %+v", e)
		}
	}
	out := r.ok("editions", "ls")
	if !strings.Contains(out, "Eerste concept") || !strings.Contains(out, ids[1]) {
		t.Errorf("table: %s", out)
	}
	if err := json.Unmarshal([]byte(r.ok("editions", "ls", "--state", "sent", "--json")), &got); err != nil || len(got.Editions) != 0 {
		t.Errorf("--state sent: %+v %v", got, err)
	}
	r.failsWith("draft, scheduled", "editions", "ls", "--state", "klaar")
}
