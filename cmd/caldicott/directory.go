package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/caldicott/caldicott/bridges/directory"
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
	r, err := directory.Apply(ctx, st, entries, "csv", directory.Guard{MaxFraction: cfg.Directory.MaxRemovalFraction, MinRemovals: cfg.Directory.HoldMinRemovals}, *confirm)
	var held *directory.HeldError
	if errors.As(err, &held) {
		fmt.Fprintf(stderr, "caldicott: %v.\nIf this is right, run the import again with -confirm-removals.\n", err)
		return exitHeld
	}
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: %v\n", err)
		return exitDatabase
	}
	fmt.Fprintf(stdout, "Imported %d people: %d new, %d updated, %d now suspended or left. Caldicott removes leavers from clinical rooms within %s.\n",
		len(entries), r.Added, r.Updated, r.Removed, cfg.Directory.SyncInterval.Duration)
	return exitOK
}
