package directory

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// LDAPFetch is what one LDAP read found.
type LDAPFetch struct {
	Entries []policy.StaffEntry
	// Skipped lists entries that could not be used, by DN and reason.
	Skipped []string
	// Full is true when everyone was read (so absent people have gone).
	Full bool
}

// ldapTimeFormat is LDAP's GeneralizedTime, for modifyTimestamp filters.
const ldapTimeFormat = "20060102150405Z"

// FetchLDAP reads staff from LDAP with a paged search, a page at a time, so
// memory grows with the result, not with the server's whims. With a zero
// since it reads everyone; otherwise only entries modified since then.
func FetchLDAP(ctx context.Context, c config.LDAP, ownServer string, since time.Time) (LDAPFetch, error) {
	out := LDAPFetch{Full: since.IsZero()}
	conn, err := ldap.DialURL(c.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}))
	if err != nil {
		return out, fmt.Errorf("connect to %s: %w", c.URL, err)
	}
	defer conn.Close()
	conn.SetTimeout(60 * time.Second)
	if c.StartTLS {
		host, _, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(c.URL, "ldap://"), "ldaps://"))
		if err := conn.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return out, fmt.Errorf("StartTLS with %s: %w", c.URL, err)
		}
	}
	if c.BindDN != "" {
		if err := conn.Bind(c.BindDN, c.BindPassword); err != nil {
			return out, fmt.Errorf("bind as %s: %w", c.BindDN, err)
		}
	}
	filter := c.Filter
	if !since.IsZero() {
		filter = fmt.Sprintf("(&%s(modifyTimestamp>=%s))", c.Filter, since.UTC().Format(ldapTimeFormat))
	}
	a := c.Attributes
	attrs := nonEmpty(a.UserID, a.Username, a.Name, a.Role, a.Team, a.Registration, a.Status)
	paging := ldap.NewControlPaging(uint32(c.PageSize))
	for {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		req := ldap.NewSearchRequest(c.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, []ldap.Control{paging})
		res, err := conn.Search(req)
		if err != nil {
			return out, fmt.Errorf("search %s: %w", c.BaseDN, err)
		}
		for _, e := range res.Entries {
			entry, problem := entryFromLDAP(e, a, ownServer)
			if problem != "" {
				out.Skipped = append(out.Skipped, e.DN+": "+problem)
				continue
			}
			out.Entries = append(out.Entries, entry)
		}
		ctrl, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(ctrl.Cookie) == 0 {
			return out, nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
}

func entryFromLDAP(e *ldap.Entry, a config.LDAPAttributes, ownServer string) (policy.StaffEntry, string) {
	get := func(attr string) string {
		if attr == "" {
			return ""
		}
		return strings.TrimSpace(e.GetAttributeValue(attr))
	}
	userID := get(a.UserID)
	if userID == "" {
		local := strings.ToLower(get(a.Username))
		if local == "" {
			return policy.StaffEntry{}, "no " + a.Username + " attribute"
		}
		userID = "@" + local + ":" + ownServer
	}
	entry := policy.StaffEntry{UserID: userID, Name: get(a.Name), Role: get(a.Role), Team: get(a.Team), Registration: get(a.Registration)}
	st, err := statusFromLDAP(a.Status, get(a.Status))
	if err != "" {
		return entry, err
	}
	if msg := validateEntry(&entry, string(st), ownServer); msg != "" {
		return entry, msg
	}
	return entry, ""
}

// statusFromLDAP reads the status attribute: a status word, nothing (active),
// or Active Directory's userAccountControl, whose bit 2 means disabled.
func statusFromLDAP(attr, value string) (policy.StaffStatus, string) {
	if strings.EqualFold(attr, "userAccountControl") {
		flags, err := strconv.Atoi(value)
		if err != nil {
			return "", fmt.Sprintf("userAccountControl %q is not a number", value)
		}
		if flags&2 != 0 {
			return policy.StatusSuspended, ""
		}
		return policy.StatusActive, ""
	}
	if value == "" {
		return policy.StatusActive, ""
	}
	st, ok := policy.ParseStaffStatus(value)
	if !ok {
		return "", fmt.Sprintf("%s %q is not active, suspended or left", attr, value)
	}
	return st, ""
}

func nonEmpty(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// SyncLDAP reads LDAP and applies it. A full read marks people it no
// longer finds (who came from LDAP) as left. Nothing is changed if LDAP
// cannot be read, and Apply holds a sync that would remove too many. A sync
// that changes anyone is audited once, as actor "ldap".
func SyncLDAP(ctx context.Context, st *store.Store, c config.LDAP, ownServer string, since time.Time, guard Guard, confirmed bool) (Result, LDAPFetch, error) {
	fetch, err := FetchLDAP(ctx, c, ownServer, since)
	if err != nil {
		return Result{}, fetch, err
	}
	entries := fetch.Entries
	if fetch.Full {
		if len(entries) == 0 {
			// An empty read is a broken read, never "everyone left".
			return Result{}, fetch, fmt.Errorf("LDAP returned nobody under %s with %s; keeping the directory as it is", c.BaseDN, c.Filter)
		}
		seen := make(map[string]bool, len(entries))
		for _, e := range entries {
			seen[e.UserID] = true
		}
		prev, err := st.StaffBySource(ctx, "ldap")
		if err != nil {
			return Result{}, fetch, err
		}
		for _, r := range prev {
			if !seen[r.UserID] && r.Status != string(policy.StatusLeft) {
				entries = append(entries, policy.StaffEntry{UserID: r.UserID, Name: r.Name, Role: r.Role, Team: r.Team, Registration: r.Registration, Status: policy.StatusLeft})
			}
		}
	}
	via := "LDAP full sync"
	if !fetch.Full {
		via = "LDAP sync of entries modified since " + since.UTC().Format(time.RFC3339)
	}
	res, err := Apply(ctx, st, entries, Origin{Source: "ldap", By: store.DirectoryAuthor{Actor: "ldap", Via: via}}, guard, confirmed)
	return res, fetch, err
}
