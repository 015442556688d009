// Package adminweb serves the IG lead's compliance pages (/_caldicott/ui/…,
// server-rendered HTML, no JavaScript, printable as the evidence pack) and
// the admin API's endpoints (/_caldicott/admin/v1/…, JSON), both from
// package compliance's model.
//
// It authenticates nobody itself: who may see a page or call an endpoint is
// the access layer's (package adminauth), handed in as Auth. It reads only;
// an act (a legal hold placed or lifted, a review started: the API's act
// scope and the room page's forms) is checked for bad input here and handed
// to Actions, which the appservice runs as the bot's own commands, as the
// person asking. It never imports the appservice, a capability or the
// Matrix client.
package adminweb
