package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"

	"github.com/caldicott/caldicott/bridges/directory"
	"github.com/caldicott/caldicott/store"
)

func cmdDirectory(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && isHelp(args[0]):
		fmt.Fprint(stdout, groupUsage("directory"))
		return exitOK
	case len(args) == 0 || args[0] != "import":
		fmt.Fprint(stderr, "caldicott directory: say import\n\n"+groupUsage("directory"))
		return exitConfig
	}
	return cmdDirectoryImport(args[1:], stdout, stderr)
}

func cmdDirectoryImport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("directory import", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	confirm := fs.Bool("confirm-removals", false, "apply even if it removes more than directory.max_removal_fraction of active staff")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, "caldicott directory import: name one CSV file\n")
		return exitConfig
	}
	cfg, code := loadConfig(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: %v\n", err)
		return exitConfig
	}
	defer f.Close()
	entries, err := directory.ParseCSV(f, cfg.Homeserver.Domain)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: %s: %v\n", fs.Arg(0), err)
		return exitConfig
	}
	ctx := context.Background()
	st, code := openStore(ctx, cfg, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	r, err := directory.Apply(ctx, st, entries, csvOrigin(fs.Arg(0)), directory.Guard{MaxFraction: cfg.Directory.MaxRemovalFraction, MinRemovals: cfg.Directory.HoldMinRemovals, Window: cfg.Directory.RemovalWindow.Duration}, *confirm)
	var held *directory.HeldError
	if errors.As(err, &held) {
		fmt.Fprintf(stderr, "caldicott: %v.\nIf this is right, run the import again with -confirm-removals.\n", err)
		return exitHeld
	}
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: %v\n", err)
		return exitDatabase
	}
	fmt.Fprintf(stdout, "Imported %d people: %d new, %d updated, %d unchanged; %d now suspended or left.",
		len(entries), r.Added, r.Updated, len(entries)-r.Added-r.Updated, r.Removed)
	if r.Added+r.Updated > 0 {
		fmt.Fprint(stdout, " The running Caldicott service is told at once and removes leavers from clinical rooms.")
	}
	fmt.Fprintln(stdout)
	return exitOK
}

// csvOrigin names an import in the audit log by its file ("csv:staff.csv")
// and, in the entry's reason, by who ran it.
func csvOrigin(path string) directory.Origin {
	base := filepath.Base(path)
	via := "caldicott directory import of " + base
	if u, err := user.Current(); err == nil && u.Username != "" {
		via += " run by " + u.Username
	}
	return directory.Origin{Source: "csv", By: store.DirectoryAuthor{Actor: "csv:" + base, Via: via}}
}
