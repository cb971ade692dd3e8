// Package subscribercsv reads subscriber imports and writes exports as CSV.
//
// The Reader streams: it holds one row at a time plus, to spot duplicates,
// a 16-byte hash and a line number per accepted address (about 30 bytes a
// row in Go's map, so some 6 MB for 200,000 rows; see BenchmarkReader). It
// takes what spreadsheets produce (Dutch Excel's semicolons, a byte-order
// mark, CRLF or old Mac CR line ends, quoted fields across lines, Dutch or
// English column names) and rejects bad rows one by one with a reason a
// person can act on, so an import carries on past them.
//
// The Writer protects exports against spreadsheet formula injection.
package subscribercsv
