package app

import (
	"context"
	"strings"

	"newsletter"
	"newsletter/internal/render"
)

// PreviewSampleName is the name the preview gives its sample recipient.
const PreviewSampleName = "Voorbeeld Partner"

// PreviewVariant is the edition as one kind of recipient gets it.
type PreviewVariant struct {
	Label      string // "with name" or "without name"
	Greeting   string // the greeting line this recipient reads ("" when the edition has none)
	HTML, Text []byte
}

// PreviewResult is what an editor sees before publishing: the email for
// a recipient with a name and for one without (they differ only when the
// edition's greeting uses the name), and how many of the lists'
// subscribers have no name.
type PreviewResult struct {
	Edition *newsletter.Edition
	// Personal: the greeting uses the recipient's name ("Beste {naam},").
	Personal bool
	Variants []PreviewVariant // with name, without name
	// Recipients and WithoutName count the active subscribers of lists
	// (each address once); both 0 when no lists were given.
	Recipients, WithoutName int
}

// PreviewVariants renders edition id for a sample recipient with a name
// and one without, and counts the subscribers of lists without a name.
func (a *App) PreviewVariants(ctx context.Context, id string, lists []string) (*PreviewResult, error) {
	e, err := a.store.GetEdition(ctx, id)
	if err != nil {
		return nil, err
	}
	t, err := a.Renderer.Render(e)
	if err != nil {
		return nil, a.renderError("edition "+e.ID, err)
	}
	res := &PreviewResult{Edition: e, Personal: render.PersonalGreeting(e.Greeting)}
	for _, v := range []struct{ label, name string }{{"with name", PreviewSampleName}, {"without name", ""}} {
		p := a.previewPersonal(e)
		p.Name = v.name
		html, text := t.Personalise(p)
		g := strings.TrimSpace(e.Greeting)
		if res.Personal {
			_, g = t.Greeting(v.name)
		}
		res.Variants = append(res.Variants, PreviewVariant{Label: v.label, Greeting: g, HTML: html, Text: text})
	}
	seen := map[string]bool{}
	for _, l := range lists {
		if _, err := a.store.GetList(ctx, l); err != nil {
			return nil, err
		}
		err := a.store.ScanSubscribers(ctx, l, 500, func(subs []*newsletter.Subscriber, _ []map[string]string) error {
			for _, s := range subs {
				if seen[s.Email] || s.Status != newsletter.SubscriberActive {
					continue
				}
				seen[s.Email] = true
				res.Recipients++
				if strings.TrimSpace(s.Name) == "" {
					res.WithoutName++
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// previewPersonal are the sample links of a preview.
func (a *App) previewPersonal(e *newsletter.Edition) render.Personal {
	base := strings.TrimRight(a.Cfg.BaseURL, "/")
	if base == "" {
		base = "https://example.org"
	}
	return render.Personal{
		Name:           PreviewSampleName,
		UnsubscribeURL: base + "/u/preview",
		PreferencesURL: base + "/p/preview",
		WebURL:         base + "/archive/" + e.ID,
	}
}
