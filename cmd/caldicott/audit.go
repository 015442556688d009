package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

func cmdAudit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "caldicott audit: say verify or export\n\n"+groupUsage("audit"))
		return exitConfig
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, groupUsage("audit"))
		return exitOK
	}
	switch args[0] {
	case "verify":
		return cmdAuditVerify(args[1:], stdout, stderr)
	case "export":
		return cmdAuditExport(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "caldicott audit: unknown subcommand %q (want verify or export)\n\n%s", args[0], groupUsage("audit"))
		return exitConfig
	}
}

func cmdAuditVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("audit verify", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	local := fs.Bool("local", false, "check the database's chain only, without the head published to the homeserver")
	witness := fs.String("witness", "", "another trust's homeserver URL to read the published heads' history from (replaces audit.witnesses)")
	witnessTokenFile := fs.String("witness-token-file", "", "file holding the token of an account on -witness that has joined this trust's attestation room")
	witnessKey := fs.String("witness-key", "", "this trust's bot's master key as the -witness trust pinned it")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	ctx := context.Background()
	cfg, st, code := configuredStore(ctx, *cfgPath, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	if *witness != "" || *witnessTokenFile != "" || *witnessKey != "" {
		w, err := witnessFromFlags(*witness, *witnessTokenFile, *witnessKey)
		if err != nil {
			fmt.Fprintf(stderr, "caldicott: %v\n", err)
			return exitConfig
		}
		cfg.Audit.Witnesses = []config.Witness{w}
	}
	r, err := st.VerifyAudit(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: %v\n", err)
		return exitDatabase
	}
	var anchor anchorCheck
	if *local {
		anchor.notes = []string{"Only the database's own chain was checked (-local): a chain rewritten whole would not show."}
	} else if anchor, err = checkAnchor(ctx, cfg, st); err != nil {
		fmt.Fprintf(stderr, "caldicott: %v\n", err)
		return exitDatabase
	}
	problems := append(r.Problems, anchor.problems...)
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "AUDIT LOG TAMPERED WITH: %d problem(s) in %d entries:\n", len(problems), r.Entries)
		for _, p := range problems {
			fmt.Fprintf(stdout, "  - %s\n", p)
		}
		printNotes(stdout, anchor)
		return exitTampered
	}
	fmt.Fprintf(stdout, "Audit log intact: %d entries, last entry %d with hash %s.\n", r.Entries, r.HeadSeq, r.HeadHash)
	printNotes(stdout, anchor)
	if anchor.incomplete != "" {
		return exitRuntime
	}
	return exitOK
}

// witnessFromFlags is the witness named on the command line: an auditor
// names it there rather than trust the config of the operator audited.
func witnessFromFlags(url, tokenFile, key string) (config.Witness, error) {
	w := config.Witness{Homeserver: url, BotKey: key}
	if url == "" || tokenFile == "" {
		return w, fmt.Errorf("-witness and -witness-token-file go together (and -witness-key with them)")
	}
	raw, err := os.ReadFile(tokenFile)
	if err != nil {
		return w, fmt.Errorf("-witness-token-file: %w", err)
	}
	w.AccessToken = strings.TrimSpace(string(raw))
	var msgs []string
	for _, p := range w.Problems("-witness") {
		msgs = append(msgs, p.Key+": "+p.Msg)
	}
	if len(msgs) > 0 {
		return w, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return w, nil
}

// printNotes says what the database was compared with, or why it could not be.
func printNotes(w io.Writer, a anchorCheck) {
	for _, n := range a.notes {
		fmt.Fprintln(w, n)
	}
	if a.incomplete != "" {
		fmt.Fprintf(w, "NOT COMPARED with the head published outside the database: %s.\nThe database's own chain is intact, but a chain rewritten whole, hashes and all, only shows in that comparison. Run this again when the homeserver answers (or use -local to check the database alone).\n", a.incomplete)
	}
}

// parseSince accepts a date, an RFC 3339 time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("-since %q is not a date (2026-01-31), a time (2026-01-31T09:00:00Z) or a duration (24h, 7d)", s)
}

func cmdAuditExport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("audit export", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	sinceFlag := fs.String("since", "", "only entries from this date, time or duration ago")
	format := fs.String("format", "jsonl", "jsonl or csv")
	outPath := fs.String("o", "", "write to this file instead of standard output")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if *format != "jsonl" && *format != "csv" {
		fmt.Fprintf(stderr, "caldicott: -format %q is not jsonl or csv\n", *format)
		return exitConfig
	}
	ctx := context.Background()
	_, st, code := configuredStore(ctx, *cfgPath, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	since, err := parseSince(*sinceFlag, st.Now())
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: %v\n", err)
		return exitConfig
	}
	out := stdout
	if *outPath != "" {
		f, err := os.OpenFile(*outPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "caldicott: %v\n", err)
			return exitRuntime
		}
		defer f.Close()
		out = f
	}
	if err := exportAudit(ctx, st, since, *format, out); err != nil {
		fmt.Fprintf(stderr, "caldicott: export: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

func exportAudit(ctx context.Context, st *store.Store, since time.Time, format string, out io.Writer) error {
	if format == "jsonl" {
		enc := json.NewEncoder(out)
		return st.AuditSince(ctx, since, func(e store.AuditEntry) error { return enc.Encode(e) })
	}
	w := csv.NewWriter(out)
	if err := w.Write([]string{"seq", "time", "actor", "room_id", "action", "reason", "detail", "prev_hash", "hash"}); err != nil {
		return err
	}
	err := st.AuditSince(ctx, since, func(e store.AuditEntry) error {
		return w.Write([]string{strconv.FormatInt(e.Seq, 10), e.Time.Format(time.RFC3339Nano), e.Actor, e.RoomID, e.Action, e.Reason, e.Detail, e.PrevHash, e.Hash})
	})
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}
