// Package subjectaccess answers subject access and FOI requests: for one
// person and a time range, it writes the messages Caldicott can read that
// they sent or that name them (decrypted where the bot's device holds the
// key), and the audit entries about them, as JSON lines with a manifest
// and SHA-256 checksums. `caldicott export` and the admin API's export
// endpoint both use it, so both give the same bundle.
//
// It only reads the homeserver (the bot's rooms through /messages, a page
// at a time: never a whole room in memory) and the store; it writes one
// audit entry per export (who exported whom, counts, never content). It
// imports no capability and not package kit.
package subjectaccess
