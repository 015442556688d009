package membership

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/bridges/directory"
	"github.com/caldicott/caldicott/policy"
)

// ldapState is the worker's memory of LDAP syncs; only the worker touches it.
type ldapState struct {
	lastSync, lastFull time.Time
	failing, held      bool
	// failingSince is when the current outage was first seen.
	failingSince time.Time
	confirmNext  bool
	lastResult   string
}

func (s *Membership) LdapEnabled() bool { return s.Cfg.Directory.LDAP.URL != "" }

// SyncLDAP reads the directory from LDAP: everyone when a full read is due,
// otherwise what changed since the last read. A failure keeps the last good
// directory and tells the management room once; a sync that would remove
// too many staff is held until an IG admin confirms it.
func (s *Membership) SyncLDAP(ctx context.Context, forceFull bool) error {
	s.ldapMu.Lock()
	defer s.ldapMu.Unlock()
	return s.syncLDAPLocked(ctx, forceFull)
}

// syncLDAPLocked is syncLDAP for a caller that holds ldapMu.
func (s *Membership) syncLDAPLocked(ctx context.Context, forceFull bool) error {
	if !s.LdapEnabled() {
		return nil
	}
	st := &s.ldap
	full := forceFull || st.lastFull.IsZero() || s.Now().Sub(st.lastFull) >= s.Cfg.Directory.LDAP.FullSyncInterval.Duration
	var since time.Time
	if !full {
		since = st.lastSync.Add(-time.Second) // modifyTimestamp has one-second resolution
	}
	start := s.Now()
	confirmed := st.confirmNext
	st.confirmNext = false
	res, fetch, err := directory.SyncLDAP(ctx, s.Store, s.Cfg.Directory.LDAP, s.Cfg.Homeserver.Domain, since, directory.Guard{MaxFraction: s.Cfg.Directory.MaxRemovalFraction, MinRemovals: s.Cfg.Directory.HoldMinRemovals, Window: s.Cfg.Directory.RemovalWindow.Duration}, confirmed)
	var held *directory.HeldError
	if err != nil && !errors.As(err, &held) {
		return s.ldapUnreadable(ctx, err)
	}
	if held != nil {
		// Read, though held: the directory is reachable again.
		if err := s.ldapReadable(ctx); err != nil {
			return err
		}
		return s.ldapHeld(ctx, held)
	}
	st.held = false
	st.lastSync = start
	if full {
		st.lastFull = start
	}
	kind := "changes"
	if full {
		kind = "full"
	}
	st.lastResult = fmt.Sprintf("%s read at %s: %d entries (%d new, %d updated, %d now suspended or left), %d skipped", kind, start.UTC().Format(time.RFC3339), len(fetch.Entries), res.Added, res.Updated, res.Removed, len(fetch.Skipped))
	for _, skipped := range fetch.Skipped {
		s.Log.Warn().Str("entry", skipped).Msg("LDAP entry skipped")
	}
	s.Log.Info().Bool("full", full).Int("entries", len(fetch.Entries)).Int("removed", res.Removed).Int("skipped", len(fetch.Skipped)).Msg("LDAP sync done")
	// The store audits the sync when it changed anyone (directory_change).
	return s.ldapReadable(ctx)
}

// ldapUnreadable keeps the last good directory and, on the first failure of
// an outage, tells the management room and audits it; the gauge says so
// until a read succeeds.
func (s *Membership) ldapUnreadable(ctx context.Context, err error) error {
	st := &s.ldap
	s.Log.Error().Err(err).Msg("LDAP sync failed; keeping the last good directory")
	s.setLDAPUnreachable(1)
	if st.failing {
		return nil
	}
	st.failing, st.failingSince = true, s.Now()
	if err := s.Audit(ctx, s.BotID.String(), "", "directory_unavailable", err.Error(), nil); err != nil {
		return err
	}
	return s.NotifyManagement(ctx, policy.GateDirectoryMissing, fmt.Sprintf("I cannot read the staff directory from LDAP: %v\nI keep the last good copy and remove nobody on its account until it is back.", err))
}

// ldapReadable clears an outage: the management room is told once, with
// how long it lasted, and the end is audited beside its start.
func (s *Membership) ldapReadable(ctx context.Context) error {
	st := &s.ldap
	s.setLDAPUnreachable(0)
	if !st.failing {
		return nil
	}
	st.failing = false
	lasted := s.Now().Sub(st.failingSince).Round(time.Second)
	if err := s.Audit(ctx, s.BotID.String(), "", "directory_available", "LDAP can be read again after "+lasted.String(), nil); err != nil {
		return err
	}
	return s.NotifyManagement(ctx, policy.GateDirectoryMissing, fmt.Sprintf("The staff directory can be read from LDAP again (it could not be for %s). Changes made there meanwhile are applied now.", lasted))
}

// ldapHeld reports a sync held for confirmation, once per hold.
func (s *Membership) ldapHeld(ctx context.Context, held *directory.HeldError) error {
	s.Log.Warn().Int("removed", held.Removed).Int("active", held.Active).Msg("LDAP sync held for confirmation")
	if s.ldap.held {
		return nil
	}
	s.ldap.held = true
	if err := s.Audit(ctx, s.BotID.String(), "", "directory_held", held.Error(), nil); err != nil {
		return err
	}
	return s.NotifyManagement(ctx, policy.GateDirectoryMissing, fmt.Sprintf("The staff directory sync from LDAP %s. Nobody has been removed. If this is right (e.g. a planned restructure), an IG admin types `!policy directory confirm` here.", held.Error()))
}

// setLDAPUnreachable sets the gauge, when the service gave one.
func (s *Membership) setLDAPUnreachable(v float64) {
	if s.LDAPUnreachable != nil {
		s.LDAPUnreachable.Set(v)
	}
}

var CommandDirectory = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "directory", Usage: "!policy directory [status|confirm|sync]",
		Summary: "IG admins: the staff directory's state; confirm a held sync or held SCIM removals; read LDAP now.",
		MaxArgs: 1, Place: policy.InManagement, Needs: policy.IGAdmin,
	},
	Doc: "The staff directory's counts and last LDAP read; confirm a sync that was held because it would remove too " +
		"many people, or apply SCIM removals held for the same reason (counted over `directory.removal_window`); " +
		"read LDAP now.",
	Run: (*Membership).cmdDirectory,
}

// cmdDirectory: IG admins see the directory's state, confirm a held sync or sync now.
func (s *Membership) cmdDirectory(ctx context.Context, c *commands.Call) error {
	// One sync at a time: the periodic one waits while an IG admin looks.
	s.ldapMu.Lock()
	defer s.ldapMu.Unlock()
	sub := "status"
	if len(c.Args) > 0 {
		sub = strings.ToLower(c.Args[0])
	}
	switch sub {
	case "status":
		counts, err := s.Store.StaffCounts(ctx)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d %s", counts[k], k)
		}
		text := "Staff directory: " + kit.OrWord(strings.Join(parts, ", "), "empty") + "."
		if s.LdapEnabled() {
			text += "\nLDAP: " + kit.OrWord(s.ldap.lastResult, "not read yet")
			if s.ldap.failing {
				text += fmt.Sprintf("\nLDAP cannot be read at the moment (since %s); the last good copy is in use and nobody is removed on its account.", s.ldap.failingSince.UTC().Format("2 Jan 2006 15:04 MST"))
			}
			if s.ldap.held {
				text += "\nA sync is held for confirmation: `!policy directory confirm`."
			}
		}
		scim, err := s.scimHoldStatus(ctx)
		if err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, text+scim)
	case "confirm":
		scim, scimHeld, err := s.confirmSCIMRemovals(ctx, c)
		if err != nil {
			return err
		}
		if scimHeld {
			if err := s.Reply(ctx, c.Evt, scim); err != nil {
				return err
			}
			if !s.ldap.held {
				s.SweepDirectory(ctx)
				return nil
			}
		}
		if !s.ldap.held {
			return s.Reply(ctx, c.Evt, "No directory sync or SCIM removal is waiting for confirmation.")
		}
		s.ldap.confirmNext = true
		if err := s.Audit(ctx, c.Evt.Sender.String(), "", "directory_confirm", "held LDAP sync confirmed", nil); err != nil {
			return err
		}
		if err := s.syncLDAPLocked(ctx, true); err != nil {
			return err
		}
		if err := s.Reply(ctx, c.Evt, "Confirmed and applied: "+s.ldap.lastResult+". Leavers are being removed from clinical rooms now."); err != nil {
			return err
		}
		s.SweepDirectory(ctx)
		return nil
	case "sync":
		if !s.LdapEnabled() {
			return s.Reply(ctx, c.Evt, "No LDAP directory is configured (directory.ldap.url). Load the directory with `caldicott directory import staff.csv`.")
		}
		if err := s.syncLDAPLocked(ctx, true); err != nil {
			return err
		}
		s.SweepDirectory(ctx)
		return s.Reply(ctx, c.Evt, "Directory read: "+kit.OrWord(s.ldap.lastResult, "failed; see the notice above")+".")
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("%q is not a directory command. Use `!policy directory status`, `confirm` or `sync`.", sub))
}
