package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// A command is one operator command as the usage describes it. The general
// usage lists them all; each answers -h with its own entry and its flags.
type command struct {
	// name as typed after "caldicott", e.g. "audit verify".
	name string
	// synopsis is what follows the name.
	synopsis string
	// summary says what it does, one or more lines.
	summary []string
}

var commands = []command{
	{"generate-registration", "-c config.yaml -o registration.yaml",
		[]string{"write fresh tokens into the config and a", "registration file for Dendrite"}},
	{"check-config", "-c config.yaml", []string{"check the config and exit"}},
	{"gatekeeper", "-c config.yaml", []string{"run the reverse proxy in front of Dendrite that", "refuses what policy forbids before Dendrite", "accepts it (docs/gatekeeper.md)"}},
	{"audit verify", "-c config.yaml [-local] [-witness URL -witness-token-file FILE [-witness-key KEY]]", []string{"check the audit log's hash chain and that it", "holds every head ever published, as this and", "another trust's homeserver serve them"}},
	{"audit export", "-c config.yaml [-since 2026-01-01|24h|7d] [-format jsonl|csv] [-o file]",
		[]string{"export the audit log"}},
	{"export", "-c config.yaml -user @x:server -since 2026-01-01 -until 2026-12-31 [-o dir] [-requested-by text]",
		[]string{"subject access / FOI export: a person's messages", "and audit entries, with a manifest and checksums"}},
	{"directory import", "-c config.yaml [-confirm-removals] staff.csv",
		[]string{"load the staff directory from a CSV file", "(columns user_id,name,status[,role,team,registration])"}},
	{"admin token create", "-c config.yaml --name NAME --scope read|export|act [--scope …] [--expires 90d] [--for @person:server] [--by NAME]",
		[]string{"make a named admin API token and print its", "secret once (read does not include export;", "act holds rooms and starts reviews as the", "--for person, an IG admin, and needs --for)"}},
	{"admin token list", "-c config.yaml", []string{"list the admin API tokens (never their secrets)"}},
	{"admin token revoke", "-c config.yaml [--by NAME] NAME", []string{"revoke an admin API token"}},
	{"db migrate", "--from sqlite:caldicott.db --to postgres://USER@HOST/DB",
		[]string{"move from trial to production: copy everything", "(the bot's identity and keys, the audit chain)", "from the stopped SQLite database into an empty", "PostgreSQL one (docs/operations.md)"}},
	{"keys reset", "-c config.yaml", []string{"with Caldicott stopped, give the bot new", "cross-signing keys when its own were lost", "(needs homeserver.admin_token; docs/operations.md)"}},
}

const usageIntro = "Caldicott keeps clinical Matrix rooms inside NHS information-governance rules.\n"

const usageOutro = `
First start, step by step:
  1. cp config/example-config.yaml config.yaml and edit homeserver, trust and federation.
  2. caldicott generate-registration -c config.yaml -o registration.yaml
  3. Add registration.yaml to app_service_api.config_files in dendrite.yaml; restart Dendrite.
  4. caldicott -c config.yaml

Each command answers -h with its own usage: caldicott audit verify -h,
or caldicott help audit verify.

Exit codes: 0 ok, 1 runtime error, 2 bad config, usage or input file,
3 database error, 4 audit log tampered with, 5 directory update held for
confirmation.
`

// usage is the general usage: every command.
var usage = usageIntro + "\nUsage:\n" +
	usageLine("caldicott [-c config.yaml]", []string{"run the appservice"}) +
	commandLines("") +
	usageLine("caldicott --version", []string{"print the version"}) +
	usageOutro

// summaryColumn is where the summaries start in the general usage.
const summaryColumn = 45

func usageLine(invocation string, summary []string) string {
	var b strings.Builder
	line := "  " + invocation
	if len(line) < summaryColumn-1 {
		b.WriteString(line + strings.Repeat(" ", summaryColumn-len(line)))
	} else {
		b.WriteString(line + "\n" + strings.Repeat(" ", summaryColumn))
	}
	b.WriteString(strings.Join(summary, "\n"+strings.Repeat(" ", summaryColumn)) + "\n")
	return b.String()
}

// commandLines lists the commands whose names start with prefix ("audit "
// for the audit commands, "" for all).
func commandLines(prefix string) string {
	var b strings.Builder
	for _, c := range commands {
		if strings.HasPrefix(c.name, prefix) {
			b.WriteString(usageLine("caldicott "+c.name+" "+c.synopsis, c.summary))
		}
	}
	return b.String()
}

// groupUsage is the usage of a command group such as "audit": its commands.
func groupUsage(group string) string {
	return "Usage:\n" + commandLines(group+" ") + "\nRun caldicott " + group + " <command> -h for one command's flags.\n"
}

// isHelp reports whether arg asks for help rather than naming a command.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// newFlags makes the flag set of the command with this name ("caldicott"
// for the appservice itself). Parse it with parseFlags, which prints usage.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses a command's flags. When done, the command stops with
// code: after -h or --help, with its usage on stdout and 0; after a bad
// flag (already reported on stderr), with its usage on stderr and 2.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, false
	case errors.Is(err, flag.ErrHelp):
		printUsage(fs, stdout)
		return exitOK, true
	default:
		fmt.Fprintln(stderr)
		printUsage(fs, stderr)
		return exitConfig, true
	}
}

// printUsage writes the usage of fs's command and its flags to w.
func printUsage(fs *flag.FlagSet, w io.Writer) {
	for _, c := range commands {
		if c.name == fs.Name() {
			fmt.Fprintf(w, "Usage:\n  caldicott %s %s\n\n%s.\n\nFlags:\n", c.name, c.synopsis, capitalise(strings.Join(c.summary, " ")))
			out := fs.Output()
			fs.SetOutput(w)
			fs.PrintDefaults()
			fs.SetOutput(out)
			return
		}
	}
	fmt.Fprint(w, usage)
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
