package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caldicott/caldicott/appservice/adminauth"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

// cmdAdmin is the admin API's operator commands: caldicott admin token ….
func cmdAdmin(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && isHelp(args[0]):
		fmt.Fprint(stdout, groupUsage("admin"))
		return exitOK
	case len(args) == 0 || args[0] != "token":
		fmt.Fprint(stderr, "caldicott admin: say token\n\n"+groupUsage("admin"))
		return exitConfig
	}
	return cmdAdminToken(args[1:], stdout, stderr)
}

func cmdAdminToken(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, groupUsage("admin token"))
		return exitOK
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, "caldicott admin token: say create, list or revoke\n\n"+groupUsage("admin token"))
		return exitConfig
	}
	switch args[0] {
	case "create":
		return cmdAdminTokenCreate(args[1:], stdout, stderr)
	case "list":
		return cmdAdminTokenList(args[1:], stdout, stderr)
	case "revoke":
		return cmdAdminTokenRevoke(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "caldicott admin token: unknown subcommand %q (want create, list or revoke)\n\n%s", args[0], groupUsage("admin token"))
	return exitConfig
}

// scopeFlags collects repeated --scope flags.
type scopeFlags []string

func (s *scopeFlags) String() string     { return strings.Join(*s, ",") }
func (s *scopeFlags) Set(v string) error { *s = append(*s, v); return nil }

func cmdAdminTokenCreate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("admin token create", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	name := fs.String("name", "", "the token's name, as the audit log will call its calls (e.g. ig-lead, siem)")
	var scopes scopeFlags
	fs.Var(&scopes, "scope", "read, export or act; repeat for more (none includes another). act places and lifts legal holds and starts membership reviews, done as the --for person, an IG admin, by the rules their own commands follow; it needs --for")
	expires := fs.String("expires", "", "lifetime, e.g. 90d or 12h (default: never expires)")
	forPerson := fs.String("for", "", "the person it is for, @person:server, whom its acts are done as (default: a system, which cannot act)")
	by := fs.String("by", "", "who is making it, for the audit log (default: your OS user)")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "caldicott admin token create: unexpected %q (give the name with --name)\n", fs.Arg(0))
		return exitConfig
	}
	n := adminauth.NewToken{Name: *name, For: *forPerson, By: operator(*by)}
	var err error
	if n.Scopes, err = adminauth.ParseScopes(scopes); err != nil {
		fmt.Fprintf(stderr, "caldicott admin token create: --scope: %v\n", err)
		return exitConfig
	}
	if *expires != "" {
		if n.ExpiresIn, err = config.ParseDuration(*expires); err != nil || n.ExpiresIn <= 0 {
			fmt.Fprintf(stderr, "caldicott admin token create: --expires: %q is not a lifetime (write e.g. 90d or 12h)\n", *expires)
			return exitConfig
		}
	}
	ctx := context.Background()
	cfg, st, code := configuredStore(ctx, *cfgPath, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	secret, err := adminauth.CreateToken(ctx, st, n)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott admin token create: %v\n", err)
		return storeExit(err)
	}
	fmt.Fprintf(stdout, "Created admin API token %q (%s). Its secret, shown this once (Caldicott keeps only a hash):\n\n%s\n\nSend it as \"Authorization: Bearer <secret>\". Revoke it with: caldicott admin token revoke %s\n",
		n.Name, scopeNames(n.Scopes), secret, n.Name)
	if n.For != "" && !slices.Contains(cfg.Trust.IGAdmins, n.For) {
		fmt.Fprintf(stderr, "caldicott admin token create: note: %s is not one of trust.ig_admins; a token made for a person works only while they are one, so its calls are refused until then\n", n.For)
	}
	return exitOK
}

func cmdAdminTokenList(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("admin token list", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	ctx := context.Background()
	_, st, code := configuredStore(ctx, *cfgPath, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	list, err := st.AdminTokens(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott admin token list: %v\n", err)
		return exitDatabase
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "No admin API tokens. Make one with: caldicott admin token create --name NAME --scope read")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPES\tFOR\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, strings.Join(t.Scopes, ","), orDash(t.For),
			when(t.CreatedAt, "-"), when(t.LastUsedAt, "never"), when(t.ExpiresAt, "never"), when(t.RevokedAt, "-"))
	}
	_ = tw.Flush()
	return exitOK
}

func cmdAdminTokenRevoke(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("admin token revoke", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	by := fs.String("by", "", "who is revoking it, for the audit log (default: your OS user)")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	// The name may come before the flags, too (revoke NAME -c config.yaml).
	name := fs.Arg(0)
	if code, done := parseFlags(fs, fs.Args()[min(1, fs.NArg()):], stdout, stderr); done {
		return code
	}
	if name == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "caldicott admin token revoke: name one token\n")
		return exitConfig
	}
	ctx := context.Background()
	_, st, code := configuredStore(ctx, *cfgPath, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	if err := adminauth.RevokeToken(ctx, st, name, operator(*by)); err != nil {
		fmt.Fprintf(stderr, "caldicott admin token revoke: %v (see caldicott admin token list)\n", err)
		return storeExit(err)
	}
	fmt.Fprintf(stdout, "Revoked admin API token %q: the running service refuses it from its next call.\n", name)
	return exitOK
}

// operator is how the audit log names whoever runs the command: by, or
// the OS user.
func operator(by string) string {
	if by != "" {
		return "cli:" + by
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// storeExit is the exit code of a store error: the operator's mistake (a
// name taken or unknown) or the database's.
func storeExit(err error) int {
	if errors.Is(err, adminauth.ErrInvalid) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound) {
		return exitConfig
	}
	return exitDatabase
}

func scopeNames(scopes []adminauth.Scope) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// when writes a time in UTC to the minute, or none when it is zero.
func when(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04")
}
