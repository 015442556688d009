// Package mxlog keeps the Matrix client's request logs to identifiers.
//
// mautrix-go logs every request it makes — at debug when it succeeds or the
// homeserver refuses it, at error when it cannot be sent — with the request
// body as a field ("req_body"). Caldicott's bodies are notices naming people,
// kick and hold reasons, access requests: personal data that has no place
// in a log at any level. A filter on the log's output cannot take a field
// back out of an event, so the body is replaced before mautrix logs it,
// through the client's own request hook. What stays is what an operator
// needs: method, URL (room, event and user IDs), status, timing and the
// body's size.
//
// Every mautrix client Caldicott builds passes through OmitBodies
// (coverage_test.go checks the source for it).
package mxlog

import (
	"context"
	"fmt"
	"net/http"

	"maunium.net/go/mautrix"
)

// OmitBodies makes cli log its requests without their bodies. A request
// hook cli already had still runs, after this one.
func OmitBodies(cli *mautrix.Client) {
	next := cli.RequestHook
	cli.RequestHook = func(req *http.Request) {
		omitBody(req)
		if next != nil {
			next(req)
		}
	}
}

// omitBody replaces the body mautrix keeps in the request's context for
// its log line (mautrix.LogBodyContextKey) with the body's size. mautrix
// logs the very request it hands to this hook, so the request is updated
// in place; the hook runs before each attempt, retries included.
func omitBody(req *http.Request) {
	if req.Context().Value(mautrix.LogBodyContextKey) == nil {
		return // no body (a GET): mautrix logs none
	}
	summary := "<not logged>"
	if req.ContentLength > 0 {
		summary = fmt.Sprintf("<%d bytes, not logged>", req.ContentLength)
	}
	*req = *req.WithContext(context.WithValue(req.Context(), mautrix.LogBodyContextKey, summary))
}
