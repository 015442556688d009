// Package membership holds who may be in a clinical room: the join gate
// applied to joins and invitations, requests to join and approvals,
// membership reviews, leavers and lost devices, the staff directory's LDAP
// sync, and the IG report. It decides through policy and acts through the
// executor; verification is reached through the Verifier interface.
package membership

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/compliance"
)

// Verifier is what membership needs of identity verification: checking a
// member who just joined, and withdrawing a leaver's confirmation.
type Verifier interface {
	CheckIdentities(ctx context.Context, users ...string) error
	WithdrawIfLeft(ctx context.Context, user string) error
}

// Membership is the capability.
type Membership struct {
	*kit.Kit
	Verify Verifier
	// List answers whether the federation's policy list bars someone of
	// another trust (package federation; nil: no list).
	List ListBans
	// LDAPUnreachable, when set, is 1 while LDAP cannot be read and 0
	// once a read succeeds (caldicott_directory_ldap_unreachable).
	LDAPUnreachable Gauge

	lanes            *worker.Lanes
	bridgeNamespaces []*regexp.Regexp

	ldapMu sync.Mutex
	ldap   ldapState

	warnMu                    sync.Mutex
	lastEmptyDirectoryWarning time.Time

	// report answers `!policy report` from the compliance model, the
	// one the IG lead's compliance page reads.
	report *compliance.Model
}

// ListBans is the federation's policy list: the gate asks it whether
// someone of another trust is barred, and a leaver of ours is published
// on it at once.
type ListBans interface {
	BanReason(user string) string
	PublishStanding(ctx context.Context, user string) error
}

// New builds the capability on the identities it checks and the
// federation's list it asks (nil: no list).
func New(k *kit.Kit, lanes *worker.Lanes, bridgeNamespaces []*regexp.Regexp, verify Verifier, list ListBans) *Membership {
	return &Membership{Kit: k, Verify: verify, List: list, lanes: lanes, bridgeNamespaces: bridgeNamespaces,
		report: compliance.New(k.Store, k.Cfg)}
}

// Gauge is the one metric method this package needs (a Prometheus gauge).
type Gauge interface{ Set(float64) }
