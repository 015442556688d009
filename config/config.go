package config

import (
	"time"
)

// Config is the whole of caldicott's configuration file.
type Config struct {
	Homeserver   Homeserver   `yaml:"homeserver"`
	AppService   AppService   `yaml:"appservice"`
	Database     Database     `yaml:"database"`
	Trust        Trust        `yaml:"trust"`
	Federation   Federation   `yaml:"federation"`
	Policy       Policy       `yaml:"policy"`
	Directory    Directory    `yaml:"directory"`
	Review       Review       `yaml:"review"`
	Verification Verification `yaml:"verification"`
	Retention    Retention    `yaml:"retention"`
	Records      Records      `yaml:"records"`
	Bridges      Bridges      `yaml:"bridges"`
	Audit        Audit        `yaml:"audit"`
	AdminAPI     AdminAPI     `yaml:"admin_api"`
	Logging      Logging      `yaml:"logging"`
	Gatekeeper   Gatekeeper   `yaml:"gatekeeper"`
}

// MaxRemovalWindow bounds directory.removal_window; the store keeps its log
// of removals a little longer, so a window never looks past its end.
const MaxRemovalWindow = 30 * 24 * time.Hour

// Directory configures the trust's staff directory.
type Directory struct {
	// SyncInterval is how often members of clinical rooms are checked against
	// the directory, so leavers lose access within one interval.
	SyncInterval Duration `yaml:"sync_interval"`
	// MaxRemovalFraction holds an update that would move more than this share
	// of active staff to suspended or left, until an admin confirms it.
	MaxRemovalFraction float64 `yaml:"max_removal_fraction"`
	// HoldMinRemovals: updates removing fewer people than this are never held.
	HoldMinRemovals int `yaml:"hold_min_removals"`
	// RemovalWindow is how far back a source's removals are counted with an
	// update's own against MaxRemovalFraction, so many small updates (SCIM's
	// one person per request, frequent LDAP syncs) are held as one large one
	// would be. Counting starts afresh when an admin confirms.
	RemovalWindow Duration `yaml:"removal_window"`
	// LDAP syncs the directory from LDAP or Active Directory; off when URL is empty.
	LDAP LDAP `yaml:"ldap"`
	// SCIM lets an identity provider push staff; off when Token is empty.
	SCIM SCIM `yaml:"scim"`
}

// SCIM is the SCIM 2.0 provisioning endpoint (/scim/v2/Users).
type SCIM struct {
	// Token is the bearer token the identity provider presents.
	Token string `yaml:"token"`
	// UPNDomains are the e-mail-style userName domains (jane@trust.nhs.uk)
	// that belong to this trust: their local part becomes the Matrix
	// localpart on this trust's server. The server name's own host is always
	// accepted; a userName on any other domain is refused.
	UPNDomains []string `yaml:"upn_domains"`
}

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

// Review schedules clinical rooms' membership reviews.
type Review struct {
	// Interval between reviews of a room, unless the room sets its own.
	Interval Duration `yaml:"interval"`
	// Grace is how long room admins have to confirm before the management room is told.
	Grace Duration `yaml:"grace"`
	// RemovalAfter, after escalation, removes members of an unconfirmed
	// review who are not room admins; 0 turns removal off.
	RemovalAfter Duration `yaml:"removal_after"`
	// InactiveAfter flags members in the review who have not posted for this long.
	InactiveAfter Duration `yaml:"inactive_after"`
	// CheckInterval is how often the schedule is looked at.
	CheckInterval Duration `yaml:"check_interval"`
}

// Verification enforces cross-signing verification in clinical rooms.
type Verification struct {
	// Mode is suspend (remove members who stay unverified past their grace),
	// warn (only tell them) or off.
	Mode string `yaml:"mode"`
	// Prompt is enabled (a member of the trust not yet confirmed is sent an
	// emoji verification request when first warned) or disabled.
	Prompt string `yaml:"prompt"`
	// NewMemberGrace is how long a member may lack verification.
	NewMemberGrace Duration `yaml:"new_member_grace"`
	// NewDeviceGrace is how long a new device may stay unverified.
	NewDeviceGrace Duration `yaml:"new_device_grace"`
	// CheckInterval is how often every member of a clinical room is checked
	// (device changes are also noticed within seconds).
	CheckInterval Duration `yaml:"check_interval"`
}

// Bridges lists the trust's bridges to other messaging apps.
type Bridges struct {
	// Registrations are the bridges' appservice registration files; their
	// user namespaces are puppets, which never enter clinical rooms.
	Registrations []string `yaml:"registrations"`
}

// Homeserver says where the trust's Dendrite is.
type Homeserver struct {
	// Address is the client-server API base URL, e.g. http://127.0.0.1:8008.
	Address string `yaml:"address"`
	// Domain is the homeserver's server_name, the part after ':' in user IDs.
	Domain string `yaml:"domain"`
	// AdminToken is the access token of a Dendrite admin account, for
	// signing out a lost device's user; empty disables that command.
	AdminToken string `yaml:"admin_token"`
}

// AppService is the appservice's own HTTP side and identity.
type AppService struct {
	// Address is the URL Dendrite uses to reach Caldicott; it goes into the registration.
	Address string `yaml:"address"`
	// Hostname and Port are where Caldicott listens.
	Hostname string `yaml:"hostname"`
	Port     int    `yaml:"port"`
	// ID is the registration ID.
	ID string `yaml:"id"`
	// BotLocalpart is the bot's user localpart: @<localpart>:<domain>.
	BotLocalpart string `yaml:"bot_localpart"`
	// BotDisplayName is shown in Element next to the bot's notices.
	BotDisplayName string `yaml:"bot_displayname"`
	// ASToken and HSToken are the shared secrets with the homeserver.
	ASToken string `yaml:"as_token"`
	HSToken string `yaml:"hs_token"`
	// MaxTransactionBytes bounds one transaction body from the homeserver.
	MaxTransactionBytes int64 `yaml:"max_transaction_bytes"`
	// Encryption is "enabled" (the bot has its own encryption device, reads
	// commands and sends notices in encrypted rooms) or "disabled".
	Encryption string `yaml:"encryption"`
	// Timeouts bound every connection to the listener.
	Timeouts HTTPTimeouts `yaml:"timeouts"`
}

// Database selects the store.
type Database struct {
	// Type is sqlite or postgres.
	Type string `yaml:"type"`
	// URI is a file path for sqlite, a postgres:// URL for PostgreSQL.
	URI string `yaml:"uri"`
	// MaxOpenConns bounds the connection pool.
	MaxOpenConns int `yaml:"max_open_conns"`
}

// Trust describes the trust this Caldicott serves.
type Trust struct {
	// Name is the trust's short name, used in notices.
	Name string `yaml:"name"`
	// ManagementRoom is the alias or room ID of the IG admins' room.
	ManagementRoom string `yaml:"management_room"`
	// IGAdmins are the trust's information-governance admins.
	IGAdmins []string `yaml:"ig_admins"`
}

// Federation lists the trusts' homeservers that clinical rooms may span.
type Federation struct {
	// Servers are the other trusts' server names exactly as in their user
	// IDs: host, or host:port when the server name has a port.
	Servers []string `yaml:"servers"`
	// AttestationAlias is the localpart of the alias of the room where this
	// trust publishes its signed identity attestations, for the other trusts.
	AttestationAlias string `yaml:"attestation_alias"`
	// AttestationRooms are the other trusts' attestation rooms, by alias.
	// Empty means #<attestation_alias>:<server> for each of Servers.
	AttestationRooms []string `yaml:"attestation_rooms"`
	// BotKeys pins other trusts' Caldicott bots to their cross-signing
	// master keys (user ID -> unpadded base64). A bot not listed is trusted
	// on first use and pinned in the database.
	BotKeys map[string]string `yaml:"bot_keys"`
	// PolicyList is the alias of the federation's policy list room (the
	// standard MSC2313 rules), which every trust's bot joins: leavers and
	// suspended staff as user bans, the member trusts as allowed servers.
	// The trust whose server the alias names creates it. Empty: no list.
	PolicyList string `yaml:"policy_list"`
	// Admins may change which servers are member trusts (`!policy trust
	// add|remove`), for the whole federation.
	Admins []string `yaml:"admins"`
	// Bots names the other trusts' Caldicott bots by server name (as in
	// Servers); a server not listed has @<this bot's localpart>:<server>.
	Bots map[string]string `yaml:"bots"`
}

// BotOf is the Caldicott bot of a member trust's server, named as in its
// user IDs (port included when it has one; see servernames.go).
func (f Federation) BotOf(server, ownLocalpart string) string {
	if b, ok := f.Bots[server]; ok {
		return b
	}
	return "@" + ownLocalpart + ":" + server
}

// AttestationSources are the aliases of the other trusts' attestation rooms:
// as listed, or #<attestation_alias>:<server> for each server (port included).
func (f Federation) AttestationSources() []string {
	if len(f.AttestationRooms) > 0 {
		return f.AttestationRooms
	}
	out := make([]string, 0, len(f.Servers))
	for _, s := range f.Servers {
		out = append(out, "#"+f.AttestationAlias+":"+s)
	}
	return out
}

// Policy holds defaults for the rules.
type Policy struct {
	// DryRun makes the executor log and audit what it would do without doing it.
	DryRun bool `yaml:"dry_run"`
	// ClinicalHistoryVisibility is joined or invited.
	ClinicalHistoryVisibility string `yaml:"clinical_history_visibility"`
	// ReconcileInterval re-checks every clinical room this often (besides start-up); 0 disables.
	ReconcileInterval Duration `yaml:"reconcile_interval"`
}

// Logging configures zerolog.
type Logging struct {
	// Level is trace, debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json or pretty.
	Format string `yaml:"format"`
}

// Duration is a time.Duration written as "90s", "5m", "24h" or "7d" in YAML.
type Duration struct {
	time.Duration
	// set: written in the file, so 0s means "off", not "the default".
	set bool
}

// Retention is how long messages are kept, per room class. A room may set
// its own period (the standard m.room.retention event) within its class's
// bounds.
type Retention struct {
	Clinical    RetentionClass `yaml:"clinical"`
	Operational RetentionClass `yaml:"operational"`
	Social      RetentionClass `yaml:"social"`
	// Delete switches automatic deletion on (the default) or off; off, the
	// periods are still set and shown, and status says nothing is deleted.
	Delete *bool `yaml:"delete"`
	// SweepInterval is how often every room is swept for expired messages.
	SweepInterval Duration `yaml:"sweep_interval"`
	// Batch bounds the redactions in one room per sweep, so a large backlog
	// is spread over several sweeps and the homeserver stays responsive.
	Batch int `yaml:"batch"`
	// MediaPath is Dendrite's media_api.base_path, when Caldicott runs on
	// the same host: files of expired messages in unencrypted rooms are
	// deleted from it too. Empty: files are left (see docs/operations.md).
	MediaPath string `yaml:"media_path"`
}

// Records is the patient record that `!policy record` sends messages to: a
// FHIR R4 server taking Communication resources.
type Records struct {
	// FHIRBaseURL is the server's base, e.g. https://epr.trust.nhs.uk/fhir
	// (Communication is POSTed to <base>/Communication). Empty: off.
	FHIRBaseURL string `yaml:"fhir_base_url"`
	// Token is sent as a bearer token (or CALDICOTT_FHIR_TOKEN).
	Token string `yaml:"token"`
	// RemindBefore: room admins are reminded this long before a message
	// still waiting for the record would have expired.
	RemindBefore Duration `yaml:"remind_before"`
}

// Deleting says whether automatic deletion runs.
func (r Retention) Deleting() bool { return r.Delete == nil || *r.Delete }

// RetentionClass bounds one class's retention period.
type RetentionClass struct {
	// Default applies where the room sets none (or sets one unreadable).
	Default Duration `yaml:"default"`
	// Min and Max bound what a room admin may set.
	Min Duration `yaml:"min"`
	Max Duration `yaml:"max"`
}
