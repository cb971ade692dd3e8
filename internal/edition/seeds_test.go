package edition

import (
	"testing"

	"newsletter/internal/seedtest"
)

// The seed layer: the real editions of the first users, kept beside the
// module in ../shared/seeds. These tests skip when the seeds are missing
// (and fail when CI is set); the fixtures in fixtures_test.go cover the same
// ground and always run.

var seedWants = map[string]editionWant{
	"000_97999744953f5f71.txt": {
		title:     "Voorwoord Peter Smit",
		greeting:  "Beste partners en vrienden van het Leerwerkakkoord,",
		signOff:   "Met vriendelijke groet,",
		author:    "Peter Smit",
		role:      "Programmamanager Leerwerkakkoord",
		firstPara: "De gemeenteraadsverkiezingen staan in maart",
		findings:  []Finding{{Field: "source", Line: 15, Column: 66, Kind: KindMojibake, Found: "├ę", Suggested: "é"}},
	},
	"001_1094ac70ac7611a2.txt": {
		title:     "Voorwoord Peter Smit",
		signOff:   "Groet,",
		author:    "Peter Smit",
		role:      "Programmamanager Leerwerkakkoord",
		firstPara: "Welkom bij de 1e post",
	},
	"002_46aa3105ac712882.txt": {
		title:     "Voorwoord Peter",
		greeting:  "Beste partners en vrienden van het Leerwerkakkoord,",
		signOff:   "Groet,",
		author:    "Peter Smit",
		role:      "Programmamanager Leerwerkakkoord",
		headings:  []string{"In memoriam: Robert Glerum"},
		firstPara: "Welkom bij de 8ste nieuwsbrief van het Leerwerkakkoord.",
	},
	"003_ac65f9cd767906b9.txt": {
		title:     "Voorwoord Peter Smit",
		greeting:  "Beste allemaal,",
		signOff:   "Groet,",
		author:    "Peter Smit",
		role:      "Programmamanager Leerwerkakkoord",
		firstPara: "Hierbij ontvangen jullie de laatste post van 2020.",
	},
	"004_ea17f261c1633d30.txt": {
		title:     "Leerwerkakkoord stopt: tot ziens, maar zeker geen vaarwel!",
		headings:  []string{"Geen doel, maar middel", "Lees ons speciale E-zine"},
		links:     []string{"https://rotterdam.foleon.com/leerwerkakkoord/ezine/"},
		emphasis:  []string{"Het label Leerwerkakkoord verdwijnt met ingang van 1 juli 2023. De samenwerking, netwerken en de succesvolle activiteiten en interventies worden binnen andere samenwerkingsverbanden voortgezet. Lees er meer over in dit bericht én in het speciale e-zine dat we hebben afgemaakt ter afronding van het Leerwerkakkoord."},
		firstPara: "Het label Leerwerkakkoord verdwijnt",
	},
}

func TestSeeds(t *testing.T) {
	checkEditions(t, seedtest.Files(t), seedWants, "seed")
}
