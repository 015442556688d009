package config

import (
	"net/url"
	"time"
)

// LDAP is an LDAP/Active Directory source for the staff directory.
type LDAP struct {
	URL          string `yaml:"url"`
	StartTLS     bool   `yaml:"start_tls"`
	BindDN       string `yaml:"bind_dn"`
	BindPassword string `yaml:"bind_password"`
	BaseDN       string `yaml:"base_dn"`
	Filter       string `yaml:"filter"`
	PageSize     int    `yaml:"page_size"`
	// FullSyncInterval is how often everyone is read (finding deletions);
	// in between, only entries modified since the last sync are read.
	FullSyncInterval Duration       `yaml:"full_sync_interval"`
	Attributes       LDAPAttributes `yaml:"attributes"`
}

// LDAPAttributes maps directory fields to LDAP attribute names.
type LDAPAttributes struct {
	// UserID holds a full Matrix ID; if empty, Username is used as the
	// localpart on this trust's server.
	UserID       string `yaml:"user_id"`
	Username     string `yaml:"username"`
	Name         string `yaml:"name"`
	Role         string `yaml:"role"`
	Team         string `yaml:"team"`
	Registration string `yaml:"registration"`
	// Status holds active/suspended/left; "userAccountControl" reads Active
	// Directory's disabled flag instead.
	Status string `yaml:"status"`
}

func (l *LDAP) defaults() {
	setDefault(&l.Filter, "(objectClass=inetOrgPerson)")
	setDefault(&l.PageSize, 500)
	setDefault(&l.FullSyncInterval.Duration, 24*time.Hour)
	a := &l.Attributes
	setDefault(&a.Username, "uid")
	setDefault(&a.Name, "cn")
	setDefault(&a.Role, "title")
	setDefault(&a.Team, "ou")
	setDefault(&a.Registration, "employeeNumber")
	setDefault(&a.Status, "employeeType")
}

// validate checks the LDAP source, when there is one.
func (l *LDAP) validate(p *problems) {
	if l.URL == "" {
		return
	}
	if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		p.add("directory.ldap.url", "%q is not an ldap:// or ldaps:// URL", l.URL)
	}
	if l.BaseDN == "" {
		p.add("directory.ldap.base_dn", "is required when directory.ldap.url is set")
	}
	if l.PageSize < 1 || l.PageSize > 10000 {
		p.add("directory.ldap.page_size", "%d must be between 1 and 10000", l.PageSize)
	}
	if l.Attributes.UserID == "" && l.Attributes.Username == "" {
		p.add("directory.ldap.attributes.username", "set user_id or username so people can be matched to Matrix accounts")
	}
	if l.Attributes.Name == "" {
		p.add("directory.ldap.attributes.name", "is required")
	}
}
