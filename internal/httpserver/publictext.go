package httpserver

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/text/language"

	"newsletter/internal/i18n"
)

// publicText holds every string of the public pages, one catalog per
// language with the same keys (a test checks that). Values with %s take
// the arguments the page gives.
var publicText = map[i18n.Lang]map[string]string{
	i18n.NL: {
		"footer.archive":   "Eerdere nieuwsbrieven",
		"footer.subscribe": "Aanmelden",
		"footer.contact":   "Vragen? Mail %s.",

		"unsub.title":    "Afmelden",
		"unsub.ask":      "Wilt u %s afmelden voor alle nieuwsbrieven? U ontvangt daarna geen nieuwsbrieven meer.",
		"unsub.button":   "Ja, meld mij af",
		"unsub.prefs":    "Liever alleen bepaalde nieuwsbrieven ontvangen?",
		"unsub.prefsBtn": "Kies uw nieuwsbrieven",
		"unsub.confirm":  "Bevestig het afmelden met de knop op de vorige pagina.",
		"unsub.failed":   "Afmelden lukte nu niet door een storing. Probeer het over een paar minuten opnieuw.",
		"unsub.done":     "U bent afgemeld",
		"unsub.doneText": "%s ontvangt onze nieuwsbrieven niet meer.",
		"unsub.undo":     "Per ongeluk afgemeld? In uw voorkeuren meldt u zich weer aan.",
		"unsub.toPrefs":  "Naar mijn voorkeuren",
		"unsub.toArch":   "Eerdere nieuwsbrieven lezen",

		"prefs.title":        "Uw voorkeuren",
		"prefs.choose":       "Kies welke nieuwsbrieven %s ontvangt.",
		"prefs.unsubscribed": "U bent nu afgemeld voor alle nieuwsbrieven. Vink een nieuwsbrief aan en sla op om die weer te ontvangen.",
		"prefs.pending":      "(wacht op uw bevestiging per e-mail)",
		"prefs.willConfirm":  "(u krijgt eerst een e-mail om te bevestigen)",
		"prefs.save":         "Opslaan",
		"prefs.saved":        "Opgeslagen.",
		"prefs.none":         "Niets aangevinkt betekent: geen nieuwsbrieven meer.",

		"expired.title": "Deze link is verlopen",
		"expired.text":  "Voor uw privacy werkt een link naar uw voorkeuren een beperkte tijd. Wij sturen u graag een nieuwe.",
		"expired.send":  "Stuur mij een nieuwe link",
		"expired.unsub": "Afmelden kan altijd met de link onderaan elke nieuwsbrief.",

		"bad.title":  "Deze link werkt niet",
		"bad.text":   "De link is onvolledig of beschadigd, bijvoorbeeld doordat uw e-mailprogramma hem over twee regels verdeelde.",
		"bad.offer":  "Vul uw e-mailadres in, dan sturen wij u een nieuwe link naar uw voorkeuren.",
		"bad.email":  "E-mailadres",
		"bad.send":   "Stuur mij een nieuwe link",
		"sent.title": "Nieuwe link onderweg",
		"sent.text":  "Als dit adres bij ons bekend is, ontvangt u binnen enkele minuten een e-mail met een nieuwe link naar uw voorkeuren.",

		"sub.title":      "Aanmelden",
		"sub.titleList":  "Aanmelden: %s",
		"sub.intro":      "Vul uw e-mailadres in. U krijgt een e-mail met een link om uw aanmelding te bevestigen.",
		"sub.choose":     "Kies een nieuwsbrief",
		"sub.noLists":    "Er zijn op dit moment geen nieuwsbrieven om u voor aan te melden.",
		"sub.email":      "E-mailadres",
		"sub.name":       "Naam (niet verplicht)",
		"sub.honeypot":   "Laat dit veld leeg",
		"sub.button":     "Aanmelden",
		"sub.badEmail":   "Dit e-mailadres klopt niet. Controleer het en probeer het opnieuw.",
		"sub.noList":     "Kies een nieuwsbrief.",
		"sub.badForm":    "Het formulier is te groot of onleesbaar. Probeer het opnieuw.",
		"sub.busy":       "Er komen nu te veel aanmeldingen binnen. Probeer het over een uur opnieuw.",
		"sub.almost":     "Bijna klaar",
		"sub.almostText": "Als dit adres zich kan aanmelden, ontvangt u binnen enkele minuten een e-mail. Klik op de link in die e-mail om uw aanmelding voor %s te bevestigen.",

		"confirm.title":      "Aanmelding bevestigen",
		"confirm.ask":        "Wilt u %s aanmelden voor %s?",
		"confirm.button":     "Ja, bevestig mijn aanmelding",
		"confirm.ignore":     "Niet aangemeld? Sluit dan deze pagina: zonder bevestiging ontvangt u niets.",
		"confirm.none":       "Niet bevestigd",
		"confirm.noneText":   "Er is voor dit adres geen aanmelding om te bevestigen. Meld u opnieuw aan.",
		"confirm.done":       "Aanmelding bevestigd",
		"confirm.doneText":   "%s ontvangt voortaan %s. Afmelden kan met de link onderaan elke nieuwsbrief.",
		"confirm.noList":     "Deze nieuwsbrief bestaat niet (meer). Controleer de link.",
		"confirm.noListHead": "Nieuwsbrief niet gevonden",

		"archive.title":     "Eerdere nieuwsbrieven",
		"archive.empty":     "Er zijn nog geen nieuwsbrieven verschenen.",
		"archive.feed":      "Atom-feed",
		"archive.page":      "Pagina %d van %d",
		"archive.newer":     "Nieuwere",
		"archive.older":     "Oudere",
		"archive.subscribe": "Ook de nieuwsbrief ontvangen? Meld u aan.",

		"notfound.title": "Pagina niet gevonden",
		"notfound.text":  "Deze pagina bestaat niet (meer). Controleer de link, of ga naar de eerdere nieuwsbrieven.",
		"address.text":   "Dit adres staat niet (meer) in onze lijsten.",
		"error.title":    "Even geduld",
		"error.text":     "Dit lukte nu niet door een storing. Probeer het over een paar minuten opnieuw.",
	},
	i18n.EN: {
		"footer.archive":   "Past newsletters",
		"footer.subscribe": "Subscribe",
		"footer.contact":   "Questions? Email %s.",

		"unsub.title":    "Unsubscribe",
		"unsub.ask":      "Do you want to unsubscribe %s from all newsletters? You will then receive no more newsletters.",
		"unsub.button":   "Yes, unsubscribe me",
		"unsub.prefs":    "Would you rather receive only some newsletters?",
		"unsub.prefsBtn": "Choose your newsletters",
		"unsub.confirm":  "Confirm with the button on the previous page to unsubscribe.",
		"unsub.failed":   "Unsubscribing did not work just now because of a fault. Please try again in a few minutes.",
		"unsub.done":     "You have unsubscribed",
		"unsub.doneText": "%s will no longer receive our newsletters.",
		"unsub.undo":     "Unsubscribed by mistake? In your preferences you can subscribe again.",
		"unsub.toPrefs":  "Go to my preferences",
		"unsub.toArch":   "Read past newsletters",

		"prefs.title":        "Your preferences",
		"prefs.choose":       "Choose which newsletters %s receives.",
		"prefs.unsubscribed": "You are now unsubscribed from all newsletters. Tick a newsletter and save to receive it again.",
		"prefs.pending":      "(waiting for your confirmation by email)",
		"prefs.willConfirm":  "(you will first get an email to confirm)",
		"prefs.save":         "Save",
		"prefs.saved":        "Saved.",
		"prefs.none":         "Nothing ticked means: no more newsletters.",

		"expired.title": "This link has expired",
		"expired.text":  "For your privacy a link to your preferences works for a limited time. We will gladly send you a new one.",
		"expired.send":  "Send me a new link",
		"expired.unsub": "You can always unsubscribe with the link at the bottom of every newsletter.",

		"bad.title":  "This link does not work",
		"bad.text":   "The link is incomplete or damaged, for instance because your email program split it over two lines.",
		"bad.offer":  "Enter your email address and we will send you a new link to your preferences.",
		"bad.email":  "Email address",
		"bad.send":   "Send me a new link",
		"sent.title": "A new link is on its way",
		"sent.text":  "If we know this address, you will receive an email with a new link to your preferences within a few minutes.",

		"sub.title":      "Subscribe",
		"sub.titleList":  "Subscribe: %s",
		"sub.intro":      "Enter your email address. You will get an email with a link to confirm your subscription.",
		"sub.choose":     "Choose a newsletter",
		"sub.noLists":    "There are no newsletters to subscribe to at the moment.",
		"sub.email":      "Email address",
		"sub.name":       "Name (optional)",
		"sub.honeypot":   "Leave this field empty",
		"sub.button":     "Subscribe",
		"sub.badEmail":   "This email address is not right. Check it and try again.",
		"sub.noList":     "Choose a newsletter.",
		"sub.badForm":    "The form is too large or unreadable. Please try again.",
		"sub.busy":       "Too many subscriptions are coming in right now. Please try again in an hour.",
		"sub.almost":     "Almost done",
		"sub.almostText": "If this address can subscribe, you will receive an email within a few minutes. Follow the link in that email to confirm your subscription to %s.",

		"confirm.title":      "Confirm your subscription",
		"confirm.ask":        "Do you want to subscribe %s to %s?",
		"confirm.button":     "Yes, confirm my subscription",
		"confirm.ignore":     "Did not subscribe? Then close this page: without a confirmation you receive nothing.",
		"confirm.none":       "Not confirmed",
		"confirm.noneText":   "There is no subscription to confirm for this address. Please subscribe again.",
		"confirm.done":       "Subscription confirmed",
		"confirm.doneText":   "%s will receive %s from now on. You can unsubscribe with the link at the bottom of every newsletter.",
		"confirm.noList":     "This newsletter does not exist (any more). Check the link.",
		"confirm.noListHead": "Newsletter not found",

		"archive.title":     "Past newsletters",
		"archive.empty":     "No newsletters have appeared yet.",
		"archive.feed":      "Atom feed",
		"archive.page":      "Page %d of %d",
		"archive.newer":     "Newer",
		"archive.older":     "Older",
		"archive.subscribe": "Want to receive the newsletter too? Subscribe.",

		"notfound.title": "Page not found",
		"notfound.text":  "This page does not exist (any more). Check the link, or go to the past newsletters.",
		"address.text":   "This address is not (or no longer) on our lists.",
		"error.title":    "Please wait",
		"error.text":     "This did not work just now because of a fault. Please try again in a few minutes.",
	},
}

// tr is the catalog of one language.
type tr struct{ lang i18n.Lang }

// T returns the string key, formatted with args.
func (t tr) T(key string, args ...any) string {
	s, ok := publicText[t.lang][key]
	if !ok {
		s = publicText[i18n.NL][key]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

var langMatcher = language.NewMatcher([]language.Tag{language.Dutch, language.English})

// requestLang is the language of a public page: ?lang= when it names nl
// or en, else known (the edition's, say) when set, else the browser's
// Accept-Language, else Dutch.
func requestLang(r *http.Request, known string) i18n.Lang {
	if q := strings.ToLower(r.URL.Query().Get("lang")); q == "nl" || q == "en" {
		return i18n.Lang(q)
	}
	if known == "nl" || known == "en" {
		return i18n.Lang(known)
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, i, conf := langMatcher.Match(tags...)
			if conf != language.No && i == 1 {
				return i18n.EN
			}
		}
	}
	return i18n.NL
}
