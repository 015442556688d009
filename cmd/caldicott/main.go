// Command caldicott runs the Caldicott appservice and its operator tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/appservice"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/mxlog"
	"github.com/caldicott/caldicott/store"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

// Exit codes, one per class of failure, so scripts and systemd can tell them apart.
const (
	exitOK       = 0
	exitRuntime  = 1
	exitConfig   = 2
	exitDatabase = 3
	exitTampered = 4
	exitHeld     = 5
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "--version", "-version", "version":
			fmt.Fprintf(stdout, "caldicott %s\n", Version)
			return exitOK
		case "-h", "-help", "--help", "help":
			return cmdHelp(args[1:], stdout, stderr)
		case "generate-registration":
			return cmdGenerateRegistration(args[1:], stdout, stderr)
		case "check-config":
			return cmdCheckConfig(args[1:], stdout, stderr)
		case "audit":
			return cmdAudit(args[1:], stdout, stderr)
		case "directory":
			return cmdDirectory(args[1:], stdout, stderr)
		case "export":
			return cmdExport(args[1:], stdout, stderr)
		case "gatekeeper":
			return cmdGatekeeper(args[1:], stdout, stderr)
		case "admin":
			return cmdAdmin(args[1:], stdout, stderr)
		case "db":
			return cmdDB(args[1:], stdout, stderr)
		case "keys":
			return cmdKeys(args[1:], stdout, stderr)
		}
	}
	return cmdRun(args, stdout, stderr)
}

// cmdHelp prints the general usage, or with a command named (help audit
// verify, help audit) that command's own usage, as its -h would.
func cmdHelp(topic []string, stdout, stderr io.Writer) int {
	if len(topic) == 0 {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	name := strings.Join(topic, " ")
	switch name {
	case "audit", "directory", "admin", "admin token", "db", "keys":
		return run(append(strings.Fields(name), "-h"), stdout, stderr)
	}
	for _, c := range commands {
		if c.name == name {
			return run(append(strings.Fields(name), "-h"), stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "caldicott help: unknown command %q\n\n%s", name, usage)
	return exitConfig
}

func loadConfig(path string, stderr io.Writer) (*config.Config, int) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: %v\n", err)
		return nil, exitConfig
	}
	return cfg, exitOK
}

func openStore(ctx context.Context, cfg *config.Config, stderr io.Writer) (*store.Store, int) {
	st, err := store.Open(ctx, cfg.Database.Type, cfg.Database.URI, cfg.Database.MaxOpenConns)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: database (database.type %s): %v\n", cfg.Database.Type, err)
		return nil, exitDatabase
	}
	return st, exitOK
}

// configuredStore loads the config and opens its database, for the
// operator commands that only need the store.
func configuredStore(ctx context.Context, cfgPath string, stderr io.Writer) (*config.Config, *store.Store, int) {
	cfg, code := loadConfig(cfgPath, stderr)
	if cfg == nil {
		return nil, nil, code
	}
	st, code := openStore(ctx, cfg, stderr)
	if st == nil {
		return nil, nil, code
	}
	return cfg, st, exitOK
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("caldicott", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "caldicott: unknown command %q\n\n%s", fs.Arg(0), usage)
		return exitConfig
	}
	cfg, code := loadConfig(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = log.WithContext(ctx)
	st, code := openStore(ctx, cfg, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	svc, err := appservice.New(cfg, st, log)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: %v\n", err)
		return exitConfig
	}
	svc.Version = Version
	log.Info().Str("version", Version).Str("bot", cfg.BotUserID()).Str("database", cfg.Database.Type).Bool("dry_run", cfg.Policy.DryRun).Msg("Starting Caldicott")
	if cfg.Gatekeeper.InProcess {
		// The gatekeeper inside this process, on its own listener: one
		// process to run, at the cost of the proxy stopping with the bot.
		wait, err := startGatekeeper(ctx, cfg, st, log)
		if err != nil {
			fmt.Fprintf(stderr, "caldicott: gatekeeper: %v\n", err)
			return exitRuntime
		}
		go func() {
			if wait() != nil {
				stop() // a proxy in the path that stopped: stop, so the operator sees it
			}
		}()
	}
	if err := svc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error().Err(err).Msg("Caldicott stopped with an error")
		return exitRuntime
	}
	log.Info().Msg("Caldicott stopped")
	return exitOK
}

func newLogger(cfg *config.Config, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(cfg.Logging.Level)
	if err != nil {
		level = zerolog.InfoLevel
	}
	if cfg.Logging.Format == "pretty" {
		f, isFile := w.(*os.File)
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05", NoColor: !isFile || !isatty.IsTerminal(f.Fd())}
	}
	// Guarded here, at the root, so that the logger every context carries
	// keeps the Matrix libraries' lines to identifiers too.
	return mxlog.Guard(zerolog.New(w).Level(level).With().Timestamp().Logger())
}

func cmdGenerateRegistration(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("generate-registration", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file to put the new tokens in")
	out := fs.String("o", "registration.yaml", "registration file to write")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	cfg, err := config.GenerateRegistration(*cfgPath, *out)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott: %v\n", err)
		return exitConfig
	}
	fmt.Fprintf(stdout, "Wrote %s with fresh tokens and saved them in %s.\nBot user: %s\nNext: add %s to app_service_api.config_files in dendrite.yaml and restart Dendrite.\n",
		*out, *cfgPath, cfg.BotUserID(), *out)
	return exitOK
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-config", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	cfg, code := loadConfig(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	fmt.Fprintf(stdout, "%s is valid. Bot %s on %s, database %s, %d federated server(s)%s.\n",
		*cfgPath, cfg.BotUserID(), cfg.Homeserver.Address, cfg.Database.Type, len(cfg.Federation.Servers), dryRunNote(cfg))
	return exitOK
}

func dryRunNote(cfg *config.Config) string {
	if cfg.Policy.DryRun {
		return ", DRY RUN (nothing enforced)"
	}
	return ""
}
