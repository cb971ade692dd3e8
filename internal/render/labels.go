package render

// labels are the fixed strings of an email in one language. Verbs %s take
// the product name (Why, ArchiveNote) or the recipient name (Greeting).
type labels struct {
	Greeting        string // "%s" is the recipient's name
	NameFallback    string // used as the name when a recipient has none
	ArchiveGreeting string // greeting on the public web version
	Why             string // why the recipient gets this email; %s = product name
	Unsubscribe     string
	Preferences     string
	WebVersion      string
	ArchiveNote     string // footer of the web version, followed by the product link; %s = product name
}

// texts holds every user-visible string of the email, per Edition.Language.
var texts = map[string]labels{
	"nl": {
		Greeting:        "Beste %s,",
		NameFallback:    "partner",
		ArchiveGreeting: "Beste lezer,",
		Why:             "U ontvangt deze e-mail omdat uw organisatie partner is van %s.",
		Unsubscribe:     "Afmelden",
		Preferences:     "Voorkeuren aanpassen",
		WebVersion:      "Bekijk in uw browser",
		ArchiveNote:     "Dit is de webversie van een nieuwsbrief van %s. Partners ontvangen de nieuwsbrief per e-mail. Aan- of afmelden kan via de links onderaan elke e-mail, of via",
	},
	"en": {
		Greeting:        "Dear %s,",
		NameFallback:    "partner",
		ArchiveGreeting: "Dear reader,",
		Why:             "You receive this email because your organisation is a partner of %s.",
		Unsubscribe:     "Unsubscribe",
		Preferences:     "Update your preferences",
		WebVersion:      "View in your browser",
		ArchiveNote:     "This is the web version of a newsletter from %s. Partners receive the newsletter by email. To subscribe or unsubscribe, use the links at the bottom of any email, or visit",
	},
}
