package main

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/subjectaccess"
	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/internal/mxlog"
)

// cmdExport writes a subject access / FOI bundle for one person.
func cmdExport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("export", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	subject := fs.String("user", "", "the person's Matrix user ID, e.g. @jane.doe:trust-a.nhs.uk")
	since := fs.String("since", "", "first day (2026-01-01, UTC) or time (RFC 3339) of the range")
	until := fs.String("until", "", "last day (2026-12-31, UTC, included) or time (RFC 3339) of the range")
	out := fs.String("o", "", "new directory to write the bundle to (default subject-access-<user>-<time>)")
	requestedBy := fs.String("requested-by", "", "who asked, for the manifest and the audit log (a name, a case reference)")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "caldicott export: unexpected %q (give the person with -user)\n", fs.Arg(0))
		return exitConfig
	}
	req, err := subjectaccess.ParseRequest(*subject, *since, *until)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott export: -%v\n", err)
		return exitConfig
	}
	req.Via, req.RequestedBy, req.Actor = "cli", *requestedBy, "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		req.Actor = "cli:" + u.Username
	}
	ctx := context.Background()
	cfg, st, code := configuredStore(ctx, *cfgPath, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	cli, err := mautrix.NewClient(cfg.Homeserver.Address, id.UserID(cfg.BotUserID()), cfg.AppService.ASToken)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: homeserver client: %v\n", err)
		return exitConfig
	}
	mxlog.OmitBodies(cli)
	cli.Client.Timeout = time.Minute
	cli.DefaultHTTPRetries = 0
	if _, err := cli.Versions(ctx); err != nil {
		fmt.Fprintf(stderr, "caldicott export: the homeserver at %s cannot be reached (%v); nothing was exported\n", cfg.Homeserver.Address, err)
		return exitRuntime
	}
	// Once it answers, a passing failure is retried rather than ending a long export.
	cli.DefaultHTTPRetries = 2
	dir := *out
	if dir == "" {
		dir = fmt.Sprintf("subject-access-%s-%s", safeName(req.Subject.Localpart()), st.Now().UTC().Format("20060102-150405"))
	}
	bundle, err := subjectaccess.NewDirBundle(dir)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott export: %v\n", err)
		return exitConfig
	}
	x := &subjectaccess.Exporter{
		Reader: cli, Store: st, Keys: verification.OpenStoredKeys(st.DB(), cfg.AppService.ASToken),
		Trust: cfg.Trust.Name, Server: cfg.Homeserver.Domain, Now: st.Now,
	}
	m, err := x.Export(ctx, req, bundle)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott export: %v\nThe bundle in %s is incomplete: delete it (it may hold patient data).\n", err, dir)
		return exitRuntime
	}
	c := m.Counts
	fmt.Fprintf(stdout, "Wrote %s: %s (%d decrypted) from %s, and %s about %s.\n",
		dir, plural(c.Messages, "message"), c.MessagesDecrypted, plural(c.RoomsSearched, "room"), plural(c.AuditEntries, "audit entry"), req.Subject)
	if c.EncryptedUnreadable > 0 {
		fmt.Fprintf(stdout, "%d encrypted messages in range could not be decrypted (%d of them sent by %s; listed without content); see manifest.json.\n",
			c.EncryptedUnreadable, c.EncryptedUnreadableFromSubject, req.Subject)
	}
	if len(m.RoomsNotRead) > 0 {
		fmt.Fprintf(stdout, "%d rooms could not be read; see manifest.json.\n", len(m.RoomsNotRead))
	}
	fmt.Fprintf(stdout, "Check it with: (cd %s && sha256sum -c %s). It holds patient data: keep it on the IG team's secure storage.\n", dir, subjectaccess.SumsFile)
	return exitOK
}

// safeName keeps a localpart usable as part of a directory name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// plural writes n with the noun, made plural when n is not 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
