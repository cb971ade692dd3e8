package httpserver

import "newsletter/internal/i18n"

// PublicText exposes a catalog to the external tests.
func PublicText(lang string) map[string]string { return publicText[i18n.Lang(lang)] }
