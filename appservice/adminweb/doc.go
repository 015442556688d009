// Package adminweb serves the IG lead's compliance pages (/_caldicott/ui/…,
// server-rendered HTML, no JavaScript, printable as the evidence pack) and
// the admin API's read endpoints (/_caldicott/admin/v1/…, JSON), both from
// package compliance's model.
//
// It authenticates nobody itself: who may see a page or call an endpoint is
// the access layer's (package adminauth), handed in as Auth. It reads only,
// and never imports the appservice, a capability or the Matrix client.
package adminweb
