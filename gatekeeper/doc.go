// Package gatekeeper is the first line of defence: a reverse proxy between
// the trust's TLS front and Dendrite that refuses, before Dendrite accepts
// them, the client and federation requests that policy forbids. Everything
// it does not judge streams through untouched.
//
// It decides with policy/ (the same rules as the appservice, which stays
// the second line and repairs whatever slips past) and reads what it needs
// to know (a room's class) from Dendrite, read-only. It changes nothing on
// the homeserver: it must never import appservice/executor or the Matrix
// client's writing side, nor store/ for writing.
package gatekeeper
