package compliance

import (
	"context"
	"sync"
	"time"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

// Store is what the model reads: the store's own methods, none that writes.
type Store interface {
	Now() time.Time
	RoomPolicies(ctx context.Context) ([]store.RoomPolicy, error)
	RoomPolicy(ctx context.Context, roomID string) (store.RoomPolicy, error)
	AllRoomMemberIDs(ctx context.Context) (map[string][]string, error)
	RoomMembers(ctx context.Context, roomID string) (store.Members, bool, error)
	RoomsOfMember(ctx context.Context, userID string) ([]string, error)
	VerificationStates(ctx context.Context) ([]store.VerificationState, error)
	VerificationStateOf(ctx context.Context, userID string) (store.VerificationState, error)
	Suspensions(ctx context.Context, userID string) ([]store.Suspension, error)
	AttestedUsers(ctx context.Context) ([]string, error)
	AttestationOf(ctx context.Context, userID string) (store.Attestation, error)
	StaffStatuses(ctx context.Context) (map[string]string, error)
	StaffNotActive(ctx context.Context) (map[string]string, error)
	StaffCounts(ctx context.Context) (map[string]int, error)
	RoomMembersNotInStaff(ctx context.Context) ([]string, error)
	RoomMembersNotAttested(ctx context.Context) ([]string, error)
	Staff(ctx context.Context, userID string) (store.StaffRecord, error)
	ActiveReviews(ctx context.Context, now time.Time) ([]store.Review, error)
	ReviewOf(ctx context.Context, roomID string) (store.Review, error)
	SweepStates(ctx context.Context) ([]store.SweepState, error)
	SweepStateOf(ctx context.Context, roomID string) (store.SweepState, error)
	LegalHolds(ctx context.Context) ([]store.LegalHold, error)
	LegalHoldOf(ctx context.Context, roomID string) (store.LegalHold, error)
	Holds(ctx context.Context) ([]store.Hold, error)
	HoldOf(ctx context.Context, userID string) (store.Hold, error)
	WaitingRecords(ctx context.Context, roomID string) ([]store.PatientRecord, error)
	AuditSince(ctx context.Context, since time.Time, fn func(store.AuditEntry) error) error
	AuditActionCounts(ctx context.Context, from, to time.Time) (map[string]int, error)
	AuditLatest(ctx context.Context, from, to time.Time, actions []string, limit int) ([]store.AuditEntry, error)
	AuditForRoom(ctx context.Context, roomID string, limit int) ([]store.AuditEntry, error)
	AuditHead(ctx context.Context) (int64, string, error)
	VerifyAudit(ctx context.Context) (store.AuditReport, error)
	KV(ctx context.Context, key string) (string, bool, error)
	FederationView(ctx context.Context) (store.FederationView, error)
	GatekeeperState(ctx context.Context) (store.GatekeeperState, error)
}

// Model answers the compliance page's and the admin API's questions.
type Model struct {
	st  Store
	cfg *config.Config

	// The chain's verification walks every entry: its result is kept for
	// verifyTTL so that a page view does not re-read the whole log.
	verifyMu sync.Mutex
	verified *AuditCheck
}

// verifyTTL is how long a chain verification is reused.
const verifyTTL = 5 * time.Minute

// New builds the model over the store and the trust's configuration.
func New(st Store, cfg *config.Config) *Model {
	return &Model{st: st, cfg: cfg}
}

// Now is the store's clock: the one clock, injectable in tests.
func (m *Model) Now() time.Time { return m.st.Now() }

// Trust is the trust's name, for page headers.
func (m *Model) Trust() string { return m.cfg.Trust.Name }
