package webui

import "newsletter/internal/i18n"

// Catalog gives the tests every string of the pages, per language.
func Catalog(l i18n.Lang) map[string]string { return catalog[l] }
