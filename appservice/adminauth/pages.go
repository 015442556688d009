package adminauth

import (
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed auth.css
var authCSS []byte

// stylePath serves the sign-in pages' style sheet (no inline style: CSP).
const stylePath = "/_caldicott/auth.css"

var pages = template.Must(template.New("layout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Caldicott</title><link rel="stylesheet" href="` + stylePath + `"></head>
<body><main>
<h1>{{.Title}}</h1>
{{with .Text}}<p class="message">{{.}}</p>{{end}}
{{if eq .Form "mxid"}}
<form method="post" action="` + signInPath + `">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="mxid">Your Matrix ID</label>
<input id="mxid" name="mxid" type="text" required autocomplete="username" placeholder="@jane.doe:trust.nhs.uk" value="{{.MXID}}">
<button type="submit">Send me a sign-in code</button>
</form>
<p class="hint">Caldicott's bot sends the code to your direct chat with it, in Element. Only the trust's IG admins can sign in.</p>
{{else if eq .Form "code"}}
<form method="post" action="` + codePath + `">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="code">Sign-in code</label>
<input id="code" name="code" type="text" required autocomplete="one-time-code" inputmode="text" placeholder="ABCDE-FGHJK">
<button type="submit">Sign in</button>
</form>
<p class="hint"><a href="` + signInPath + `">Ask for another code</a></p>
{{else if eq .Form "signout"}}
<p><a href="{{.Home}}">Continue</a></p>
<form method="post" action="` + signOutPath + `">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit">Sign out</button>
</form>
{{else}}
<p><a href="` + signInPath + `">Sign in</a></p>
{{end}}
</main></body></html>
`))

// pageMessage is one sign-in page: a title, a message, a form.
type pageMessage struct {
	Title, Text string
	// Form is "mxid", "code", "signout" or "" (a link to sign in).
	Form string
	CSRF string
	MXID string
	Home string
}

func (a *Auth) page(w http.ResponseWriter, status int, p pageMessage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages.Execute(w, p); err != nil {
		a.log.Error().Err(err).Msg("Could not render the sign-in page")
	}
}

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(authCSS)
}
