package httpserver_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/net/html"

	"newsletter"
	"newsletter/internal/app"
	"newsletter/internal/httpserver"
)

// Words that give a language away: every one is common in one language
// and not a word of the other. A page in one language fails on any word
// of the other's list (after the page's own data, such as the address
// and list names, is taken out).
var giveaway = map[string][]string{
	"nl": {"de", "het", "een", "en", "van", "uw", "u", "voor", "niet", "nieuwsbrief", "nieuwsbrieven", "afmelden",
		"aanmelden", "deze", "met", "ja", "mij", "meld", "ontvangt", "eerdere", "vragen", "pagina", "gevonden", "bevestig",
		"bevestigen", "voorkeuren", "opslaan", "wij", "lezer", "webversie", "afbeelding", "bijna", "klaar", "onderweg", "nieuwe"},
	"en": {"the", "and", "you", "your", "to", "this", "from", "with", "for", "newsletter", "newsletters",
		"unsubscribe", "please", "page", "not", "found", "all", "yes", "my", "me", "will", "receive", "email", "address",
		"past", "subscribe", "choose", "save", "confirm", "questions", "send", "preferences", "reader", "version", "almost",
		"done", "new", "way"},
}

// visibleText is what a reader sees of an HTML page (and its title),
// leaving out parts marked as another language than the page's (an
// English edition listed in a Dutch archive says lang="en").
func visibleText(t *testing.T, page string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	pageLang := ""
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script") {
			return
		}
		for _, a := range n.Attr {
			if a.Key == "lang" && pageLang == "" {
				pageLang = a.Val
			} else if a.Key == "lang" && a.Val != pageLang {
				return
			}
		}
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if a.Key == "alt" || a.Key == "placeholder" || a.Key == "aria-label" || (a.Key == "value" && n.Data == "button") {
					b.WriteString(" " + a.Val + " ")
				}
			}
		}
		if n.Type == html.TextNode {
			b.WriteString(" " + n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return b.String()
}

// otherLanguageWords returns the words of text that give away the other
// language than lang.
func otherLanguageWords(lang, text string, own []string) []string {
	for _, s := range own {
		text = strings.ReplaceAll(text, s, " ")
	}
	other := "en"
	if lang == "en" {
		other = "nl"
	}
	bad := map[string]bool{}
	for _, w := range giveaway[other] {
		bad[w] = true
	}
	var found []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }) {
		if bad[w] {
			found = append(found, w)
		}
	}
	return found
}

// The giveaway lists must not share a word, and the check must catch the
// old mixed unsubscribe page.
func TestGiveawayWords(t *testing.T) {
	nl := map[string]bool{}
	for _, w := range giveaway["nl"] {
		nl[w] = true
	}
	for _, w := range giveaway["en"] {
		if nl[w] {
			t.Errorf("%q is in both lists", w)
		}
	}
	old := `<p>Wilt u afmelden?</p><p class="muted">Unsubscribe jan@example.org from this newsletter: press the button. Liever alleen bepaalde lijsten?</p>`
	if got := otherLanguageWords("nl", visibleText(t, old), nil); len(got) == 0 {
		t.Error("the check missed English on a Dutch page")
	}
}

// Every public page, in Dutch and in English, speaks one language.
func TestPublicPagesOneLanguage(t *testing.T) {
	a := openApp(t, func(c *app.Config) {
		c.PreferencesLinkAge = time.Hour
		c.From = "Leerwerkakkoord <nieuwsbrief@leerwerkakkoord.example>"
	})
	ctx := context.Background()
	for _, l := range []newsletter.List{{Slug: "zorg", Name: "Zorg", Public: true}, {Slug: "ict", Name: "ICT", Public: true, DoubleOptIn: true}} {
		if _, err := a.CreateList(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.AddSubscriber(ctx, "zorg", app.AddInput{Email: who}); err != nil {
		t.Fatal(err)
	}
	editions := map[string]string{}
	for lang, md := range map[string]string{
		"nl": "---\nsubject: Nieuws van december\nlanguage: nl\ngreeting: Beste {naam},\n---\nDit is het nieuws van deze maand voor alle partners.\n",
		"en": "---\nsubject: News of December\nlanguage: en\ngreeting: Dear {name},\n---\nThis is the news of this month for all partners.\n",
	} {
		e, _, err := a.CreateEdition(ctx, lang+".md", []byte(md))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Publish(ctx, e.ID, []string{"zorg"}, app.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		editions[lang] = e.ID
	}
	h := serve(a, nil)
	path := func(u string) string {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return p.Path
	}
	prefs := path(a.Links.Preferences(who))
	realNow := a.Now
	a.Now = func() time.Time { return realNow().Add(-2 * time.Hour) }
	expired := path(a.Links.Preferences(who))
	a.Now = realNow
	own := []string{who, "Leerwerkakkoord", "nieuwsbrief@leerwerkakkoord.example", "Zorg", "ICT", "Nieuws van december", "News of December", "Atom"}

	for _, lang := range []string{"nl", "en"} {
		q := "?lang=" + lang
		unsub := path(a.Links.Unsubscribe(who, editions[lang]))
		for _, p := range []struct {
			name, method, target, body string
			status                     int
		}{
			{"unsubscribe", "GET", unsub, "", 200},
			{"unsubscribe-done", "POST", unsub, "confirm=1", 200},
			{"preferences", "GET", prefs + q, "", 200},
			{"preferences-saved", "POST", prefs + q, "list=zorg", 200},
			{"expired", "GET", expired + q, "", 400},
			{"bad-link", "GET", "/p/not-a-token" + q, "", 400},
			{"new-link", "POST", "/new-link" + q, "email=" + url.QueryEscape(who), 200},
			{"confirm", "GET", path(a.Links.Confirm(who, "ict")) + q, "", 200},
			{"subscribe-list", "GET", "/subscribe" + q + "&list=zorg", "", 200},
			{"subscribe", "GET", "/subscribe" + q, "", 200},
			{"subscribe-bad-email", "POST", "/subscribe" + q, "list=zorg&email=nope", 400},
			{"subscribe-done", "POST", "/subscribe" + q, "list=ict&email=piet%40example.org&name=Piet", 200},
			{"archive-index", "GET", "/archive/" + q, "", 200},
			{"archive-page", "GET", "/archive/" + editions[lang], "", 200},
			{"not-found", "GET", "/no/such/page" + q, "", 404},
			{"archive-not-found", "GET", "/archive/nothing" + q, "", 404},
		} {
			t.Run(lang+"/"+p.name, func(t *testing.T) {
				setup := func(r *http.Request) {
					r.Header.Set("Accept-Language", map[string]string{"nl": "en", "en": "nl"}[lang]) // the query must win
					if p.method == "POST" {
						form(r)
					}
				}
				rec := do(h, p.method, p.target, p.body, setup)
				if rec.Code != p.status {
					t.Fatalf("%s %s: %d, want %d:\n%s", p.method, p.target, rec.Code, p.status, rec.Body)
				}
				body := rec.Body.String()
				if !strings.Contains(body, `<html lang="`+lang+`"`) {
					t.Errorf("page does not declare lang=%q", lang)
				}
				if words := otherLanguageWords(lang, visibleText(t, body), own); len(words) > 0 {
					t.Errorf("%s page in %s has words of the other language %v:\n%s", p.name, lang, words, visibleText(t, body))
				}
				if strings.Contains(body, "404 page not found") || strings.Contains(body, "%!") {
					t.Errorf("page has Go's own text or a formatting slip:\n%s", body)
				}
			})
		}
	}
}

// Both catalogs have the same keys, and no value is empty.
func TestCatalogsComplete(t *testing.T) {
	keys := map[string]int{}
	for _, lang := range []string{"nl", "en"} {
		for k, v := range httpserver.PublicText(lang) {
			keys[k]++
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %s is empty", lang, k)
			}
		}
	}
	for k, n := range keys {
		if n != 2 {
			t.Errorf("%s is in one catalog only", k)
		}
	}
}
