package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

func cmdKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "caldicott keys: say reset\n\n"+groupUsage("keys"))
		return exitConfig
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, groupUsage("keys"))
		return exitOK
	}
	if args[0] != "reset" {
		fmt.Fprintf(stderr, "caldicott keys: unknown subcommand %q (want reset)\n\n%s", args[0], groupUsage("keys"))
		return exitConfig
	}
	return cmdKeysReset(args[1:], stdout, stderr)
}

func cmdKeysReset(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("keys reset", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	cfg, code := loadConfig(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	if cfg.Database.Type == store.SQLite {
		// The bot's device must not be used by two processes at once.
		lock, err := store.LockSQLite(cfg.Database.URI)
		if err != nil {
			fmt.Fprintf(stderr, "caldicott keys reset: %v\n", err)
			return exitDatabase
		}
		_ = lock.Close()
	}
	ctx := context.Background()
	st, code := openStore(ctx, cfg, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	log := newLogger(cfg, stderr).Level(zerolog.WarnLevel)
	r, err := verification.ResetBotIdentity(log.WithContext(ctx), cfg, st, log)
	if errors.Is(err, verification.ErrBotIdentityIntact) {
		fmt.Fprintf(stdout, "Nothing to reset: %v.\n", err)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "caldicott keys reset: %v\n", err)
		return exitRuntime
	}
	detail, _ := json.Marshal(map[string]string{"device_id": r.DeviceID.String(), "previous_master_key": r.Previous, "master_key": r.MasterKey})
	if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: "operator (caldicott keys reset)", Action: "bot_identity_reset", Reason: "the bot's cross-signing keys were not in the database", Detail: string(detail)}); err != nil {
		fmt.Fprintf(stderr, "caldicott keys reset: the keys were reset but not audited: %v\n", err)
		return exitDatabase
	}
	fmt.Fprintf(stdout, keysResetDone, cfg.BotUserID(), r.DeviceID, policy.Fingerprint(r.MasterKey), cfg.BotUserID(), policy.Fingerprint(r.MasterKey))
	return exitOK
}

const keysResetDone = `The bot %s (device %s) has a new cross-signing identity:
  %s
Next:
  1. Start Caldicott. It signs its identity confirmations in the attestation
     room again with the new key; the other trusts' Caldicotts see the change
     and tell their IG admins in their management rooms.
  2. Give the other trusts' IG teams this fingerprint by a channel you both
     trust (a call, not Matrix). Once they have checked it they type
       !policy trust-key %s %s
     in their management room (or change federation.bot_keys and
     audit.witnesses' bot_key if they pinned it in their config).
  3. Members verified before keep counting as verified (Caldicott's record of
     it is in the database); their clients show the bot as changed until they
     verify it again.
`
