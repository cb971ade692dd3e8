// Package edition turns what an editor supplies (Markdown with front matter,
// or plain text pasted from a word processor like the seed editions) into a
// *newsletter.Edition, and guards the edition's text before it is sent to
// thousands of inboxes: an encoding guard that finds and repairs mojibake,
// invalid UTF-8, stray control and replacement characters, and an offline link
// check. It does no I/O: callers read the file and store the result.
package edition
