package render

// labels are the fixed strings of an email in one language. Verbs %s take
// the product name (Why, ArchiveNote) or the list's name (the Confirm
// strings).
type labels struct {
	Neutral         string // the greeting when the edition's greeting uses a name the recipient lacks
	ArchiveGreeting string // what a personal greeting reads on the public web version
	Why             string // why the recipient gets this email; %s = product name
	Unsubscribe     string
	Preferences     string
	WebVersion      string
	ArchiveNote     string // footer of the web version; %s = product name
	ArchiveIndex    string // link to the archive index
	Subscribe       string // link to the subscribe form
	Image           string // alt text of a body image that has none

	// The double opt-in confirmation email; %[1]s is the list's name,
	// %[2]s the product name.
	ConfirmSubject, ConfirmPreheader, ConfirmTitle string
	ConfirmParas                                   []string
	ConfirmButton, ConfirmWhy                      string
	// The email with a fresh preferences link; %s is the product name.
	PrefsSubject, PrefsPreheader, PrefsTitle string
	PrefsParas                               []string
	PrefsButton, PrefsWhy                    string
	ServiceGreeting                          string
}

// texts holds every user-visible string of the emails, per language
// (Edition.Language, or the list's for service emails).
var texts = map[string]labels{
	"nl": {
		Neutral:         "Beste partner,",
		ArchiveGreeting: "Beste lezer,",
		Why:             "U ontvangt deze e-mail omdat uw organisatie partner is van %s.",
		Unsubscribe:     "Afmelden",
		Preferences:     "Voorkeuren aanpassen",
		WebVersion:      "Bekijk in uw browser",
		ArchiveNote:     "Dit is de webversie van een nieuwsbrief van %s. Partners ontvangen de nieuwsbrief per e-mail.",
		ArchiveIndex:    "Alle nieuwsbrieven",
		Subscribe:       "Aanmelden voor de nieuwsbrief",
		Image:           "Afbeelding",

		ConfirmSubject:   "Bevestig uw aanmelding: %[1]s",
		ConfirmPreheader: "Bevestig uw aanmelding voor %[1]s",
		ConfirmTitle:     "Bevestig uw aanmelding",
		ConfirmParas: []string{
			"Iemand, waarschijnlijk u, heeft dit adres aangemeld voor de nieuwsbrief “%[1]s” van %[2]s. Klik op de knop hieronder om uw aanmelding te bevestigen. Pas daarna ontvangt u de nieuwsbrief.",
			"Heeft u zich niet aangemeld? Dan hoeft u niets te doen: zonder bevestiging sturen wij u niets. De link is zeven dagen geldig.",
		},
		ConfirmButton: "Ja, ik wil de nieuwsbrief ontvangen",
		ConfirmWhy:    "U ontvangt deze e-mail omdat dit adres is aangemeld bij %[2]s.",

		PrefsSubject:   "Uw nieuwe link naar uw voorkeuren bij %s",
		PrefsPreheader: "Kies welke nieuwsbrieven u ontvangt",
		PrefsTitle:     "Uw voorkeuren",
		PrefsParas: []string{
			"U vroeg om een nieuwe link naar uw voorkeuren bij %s. Met de knop hieronder kiest u welke nieuwsbrieven u ontvangt, of meldt u zich af.",
			"Heeft u hier niet om gevraagd? Dan hoeft u niets te doen: er verandert niets.",
		},
		PrefsButton:     "Naar mijn voorkeuren",
		PrefsWhy:        "U ontvangt deze e-mail omdat iemand, waarschijnlijk u, een nieuwe link vroeg voor dit adres bij %s.",
		ServiceGreeting: "Beste lezer,",
	},
	"en": {
		Neutral:         "Dear partner,",
		ArchiveGreeting: "Dear reader,",
		Why:             "You receive this email because your organisation is a partner of %s.",
		Unsubscribe:     "Unsubscribe",
		Preferences:     "Update your preferences",
		WebVersion:      "View in your browser",
		ArchiveNote:     "This is the web version of a newsletter from %s. Partners receive the newsletter by email.",
		ArchiveIndex:    "All newsletters",
		Subscribe:       "Subscribe to the newsletter",
		Image:           "Image",

		ConfirmSubject:   "Confirm your subscription: %[1]s",
		ConfirmPreheader: "Confirm your subscription to %[1]s",
		ConfirmTitle:     "Confirm your subscription",
		ConfirmParas: []string{
			"Someone, probably you, subscribed this address to the newsletter “%[1]s” from %[2]s. Press the button below to confirm. Only then will you receive the newsletter.",
			"Did you not subscribe? Then there is nothing to do: without a confirmation we send you nothing. The link works for seven days.",
		},
		ConfirmButton: "Yes, I want to receive the newsletter",
		ConfirmWhy:    "You receive this email because this address was subscribed at %[2]s.",

		PrefsSubject:   "Your new link to your preferences at %s",
		PrefsPreheader: "Choose which newsletters you receive",
		PrefsTitle:     "Your preferences",
		PrefsParas: []string{
			"You asked for a new link to your preferences at %s. With the button below you choose which newsletters you receive, or unsubscribe.",
			"Did you not ask for this? Then there is nothing to do: nothing changes.",
		},
		PrefsButton:     "To my preferences",
		PrefsWhy:        "You receive this email because someone, probably you, asked for a new link for this address at %s.",
		ServiceGreeting: "Dear reader,",
	},
}
