package appservice

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	mas "maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/adminauth"
	"github.com/caldicott/caldicott/appservice/adminweb"
	"github.com/caldicott/caldicott/appservice/audithead"
	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/facts"
	"github.com/caldicott/caldicott/appservice/federation"
	"github.com/caldicott/caldicott/appservice/guard"
	"github.com/caldicott/caldicott/appservice/hardening"
	"github.com/caldicott/caldicott/appservice/intake"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/appservice/membership"
	"github.com/caldicott/caldicott/appservice/records"
	"github.com/caldicott/caldicott/appservice/retention"
	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/mxlog"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Service is one Caldicott: the appservice of one trust's homeserver.
type Service struct {
	// Kit is what every capability shares: config, store, the facts
	// reader, the executor (the only writer) and their verbs.
	*kit.Kit
	as      *mas.AppService
	metrics *Metrics
	wake    chan struct{}

	// commands is the one registry of bot commands.
	commands *commands.Registry
	// membership: the join gate, requests, reviews, the directory.
	membership *membership.Membership
	// hardening: classification, protections, drift, reconciliation.
	hardening *hardening.Hardening
	// verification: identities, emoji verification, confirmations.
	verification *verification.Verification
	// retention: deleting expired messages, legal holds.
	retention *retention.Retention
	// federation: the federation's shared policy list.
	federation *federation.Federation
	// records: messages sent to the patient record.
	records *records.Records
	// guard: patient identifiers kept out of non-clinical rooms and names.
	guard *guard.Guard
	// auditHead publishes the audit chain's signed head outside the database.
	auditHead *audithead.Publisher
	// auth: who may use the admin surface (tokens, sign-in, sessions).
	auth *adminauth.Auth
	web  *adminweb.Server

	// ready is closed once this process enforces (the first time it
	// leads): the bot prepared, actions a crash left pending finished, and
	// the inbox handed to the rooms' lanes. The start-up catch-up (the
	// directory sync, the reconciliation of every room) runs on behind it.
	ready     chan struct{}
	readyOnce sync.Once
	// caughtUp is closed once the start-up catch-up is done too.
	caughtUp     chan struct{}
	caughtUpOnce sync.Once
	// leader is this process's standing in the leader's lease (leader.go).
	leader leadership
	// Version is the binary's version, recorded with the lease by the
	// process that leads; set by the command before Run ("" reads the
	// build's own).
	Version string

	// userChanged carries people whose standing changed on the federation's
	// list to the worker, which checks their clinical rooms (a directory
	// change comes through the directory's journal instead).
	userChanged chan string
	// keysChanged carries users whose devices or keys changed, from the sync.
	keysChanged chan string
	scim        http.Handler
	// scimNoted is when this process last noted a SCIM request (scimwatch.go).
	scimNoted atomic.Int64
	lanes     *worker.Lanes
	// life is the running service's context (set by Run).
	life context.Context
	// invitesSeen: rooms whose invitation (seen by sync) is being answered.
	invitesSeen sync.Map
	// hsWatch: whether the homeserver answers (hswatch.go).
	hsWatch homeserverWatch
}

// New builds a Service from config and an open store; Run starts it.
func New(cfg *config.Config, st *store.Store, log zerolog.Logger) (*Service, error) {
	log = mxlog.Guard(log) // no query arguments from the crypto and state stores
	bridgeNS, err := cfg.BridgeNamespaces()
	if err != nil {
		return nil, err
	}
	as, err := newAppService(cfg, log)
	if err != nil {
		return nil, err
	}
	metrics := NewMetrics()
	s := &Service{
		Kit:      newKit(cfg, st, as, metrics, log),
		as:       as,
		metrics:  metrics,
		wake:     make(chan struct{}, 1),
		life:     context.Background(),
		ready:    make(chan struct{}),
		caughtUp: make(chan struct{}),
		lanes:    worker.NewLanes(),
		leader:   leadership{holder: newHolder(), db: dbHealth{up: metrics.DatabaseUp, log: log}},

		userChanged: make(chan string, 256),
		keysChanged: make(chan string, 256),
	}
	if err := s.buildCapabilities(bridgeNS); err != nil {
		return nil, err
	}
	if s.commands, err = commands.New(commandEnv{s}, s.commandList()...); err != nil {
		return nil, err
	}
	if s.scim, err = s.scimHandler(); err != nil {
		return nil, err
	}
	s.auth = s.newAdminAuth()
	if s.web, err = s.newAdminWeb(); err != nil {
		return nil, err
	}
	return s, nil
}

// newAppService is mautrix's appservice for the registration, with a bot
// client that neither retries nor logs request bodies.
func newAppService(cfg *config.Config, log zerolog.Logger) (*mas.AppService, error) {
	as, err := mas.CreateFull(mas.CreateOpts{
		Registration:     cfg.Registration(),
		HomeserverDomain: cfg.Homeserver.Domain,
		HomeserverURL:    cfg.Homeserver.Address,
		HostConfig:       mas.HostConfig{Hostname: cfg.AppService.Hostname, Port: uint16(cfg.AppService.Port)},
	})
	if err != nil {
		return nil, fmt.Errorf("create appservice: %w", err)
	}
	as.Log = log.With().Str("component", "mautrix").Logger()
	// Our worker retries with its own backoff and keeps the event until it
	// succeeds; the client's retries would only stall the queue.
	as.DefaultHTTPRetries = 0
	as.HTTPClient.Timeout = 30 * time.Second
	bot := as.BotClient()
	// Request bodies (notices, reasons) stay out of the log at every level.
	mxlog.OmitBodies(bot)
	// The rules read room state fresh from the homeserver every time; the
	// client's memory state store is not needed (and mautrix v0.26's
	// appservice one panics on join rules: its map is never initialised).
	bot.StateStore = nil
	return as, nil
}

// newKit is what every capability shares: the reader, the executor (the
// only writer) and the rules' requirements from config.
func newKit(cfg *config.Config, st *store.Store, as *mas.AppService, metrics *Metrics, log zerolog.Logger) *kit.Kit {
	bot := as.BotClient() // the one client newAppService prepared
	k := &kit.Kit{
		Cfg: cfg, Store: st, Bot: bot, BotID: id.UserID(cfg.BotUserID()), Log: log, Now: st.Now,
		Facts: facts.New(bot, cfg.BotUserID(), st, st.Now, metrics.MemberListReads),
		Exec: executor.New(bot, as.HTTPClient, st, executor.Config{
			DryRun: cfg.Policy.DryRun, OwnServer: cfg.Homeserver.Domain,
			HomeserverURL: cfg.Homeserver.Address, AdminToken: cfg.Homeserver.AdminToken,
			MediaPath: cfg.Retention.MediaPath, PlaintextInEncryptedRooms: cfg.AppService.PlaintextInEncryptedRooms,
		}, metrics.Actions, log.With().Str("component", "executor").Logger()),
	}
	k.SetRequirements(policy.Requirements{
		BotUserID:         cfg.BotUserID(),
		OwnServer:         cfg.Homeserver.Domain,
		FederationServers: cfg.Federation.Servers,
		HistoryVisibility: cfg.Policy.ClinicalHistoryVisibility,
	})
	// A policy event a trust's bot wrote names who set its filters; which
	// users are trusts' bots is the kit's to say, from the requirements.
	k.Facts.SetBots(k.IsTrustBot)
	return k
}

// buildCapabilities builds each capability after those it calls, and
// hands them in. One cycle remains: federation → hardening (a change of
// member trusts rewrites every clinical room's ACL) → membership (the
// gate) → federation (its bans), closed once all three exist.
func (s *Service) buildCapabilities(bridgeNS []*regexp.Regexp) error {
	k := s.Kit
	s.verification = verification.New(k, s.keysChanged)
	s.records = records.New(k, s.verification)
	s.retention = retention.New(k, s.lanes, s.metrics.Retention, s.records.Keep)
	s.guard = guard.New(k)
	var err error
	if s.federation, err = federation.New(k, s.personChanged); err != nil {
		return fmt.Errorf("federation policy list: %w", err)
	}
	s.membership = membership.New(k, s.lanes, bridgeNS, s.verification, s.federation)
	s.membership.LDAPUnreachable = s.metrics.LDAPUnreachable
	s.records.Unreachable = s.metrics.RecordsUnreachable
	s.hardening = hardening.New(k, s.lanes, s.membership, s.verification, s.retention, s.records)
	s.federation.TrustsChanged = s.hardening.ReprotectClinical
	s.auditHead = audithead.New(k, s.verification, verification.ErrNoSigningIdentity)
	return nil
}

// Handler is the HTTP surface: our transaction intake, mautrix's endpoints
// for everything else the homeserver calls, health and metrics.
func (s *Service) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	in := intake.New(s.Store, s.BotID.String(), s.Cfg.AppService.HSToken, s.Cfg.AppService.MaxTransactionBytes,
		intake.Counters{Transactions: s.metrics.TxnsReceived, Events: s.metrics.EventsReceived, Ignored: s.metrics.EventsIgnored},
		s.wakeWorker, s.Log)
	in.Heard = s.verification.NoteRoomEvents
	r.Put("/_matrix/app/v1/transactions/{txnID}", in.ServeHTTP)
	r.Put("/transactions/{txnID}", in.ServeHTTP) // legacy_paths homeservers
	r.Get("/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	r.Get("/ready", s.readyHandler)
	r.Handle("/metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	r.Handle("/_matrix/*", s.as.Router)
	r.Handle("/scim/*", s.scim)
	if s.Cfg.AdminAPI.Listen == "" {
		s.mountAdmin(r) // else only on the admin listener (serveAdmin)
	}
	return r
}

// Ready is closed when this process enforces: events are judged as they
// arrive, while the start-up reconciliation may still be running.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// CaughtUp is closed when the start-up catch-up (directory sync,
// reconciliation of every room, identity checks) has finished as well.
func (s *Service) CaughtUp() <-chan struct{} { return s.caughtUp }

// Metrics exposes the counters, for tests and benchmarks.
func (s *Service) Metrics() *Metrics { return s.metrics }

// Run listens for the homeserver at once and stores what it sends; while
// this process holds the leader's lease it also waits until the homeserver
// answers, prepares the bot, reconciles every room and handles events,
// until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	// Before any event is indexed: files stored earlier are judged unsure.
	if _, err := s.Store.MediaIndexBegun(ctx); err != nil {
		return err
	}
	addr := net.JoinHostPort(s.Cfg.AppService.Hostname, strconv.Itoa(s.Cfg.AppService.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := newHTTPServer(s.Cfg.AppService.Timeouts, s.Handler())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.Log.Info().Str("address", addr).Msg("Listening for the homeserver")
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	adminErr, stopAdmin, err := s.serveAdmin()
	if err != nil {
		return err
	}
	defer stopAdmin()

	// Every process listens and stores; the one holding the lease acts.
	workerDone := make(chan error, 1)
	go func() { workerDone <- s.runLeadership(ctx) }()
	select {
	case err := <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case err := <-adminErr:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve the admin listener: %w", err)
	case err := <-workerDone:
		return err
	}
}

// waitForHomeserver retries until the homeserver answers, with backoff:
// Caldicott may start before Dendrite, or Dendrite may be restarting.
func (s *Service) waitForHomeserver(ctx context.Context) error {
	b := startRetry{retry.Backoff{Initial: time.Second, Max: 30 * time.Second}}
	return b.Do(ctx, func() error {
		_, err := s.Bot.Versions(ctx)
		return err
	}, func(err error, wait time.Duration) {
		s.Log.Warn().Err(err).Dur("retry_in", wait).Msg("Homeserver not reachable yet")
	})
}

// prepareBot registers the bot, sets its display name and joins the
// management room. Only a failure to register is worth retrying.
func (s *Service) prepareBot(ctx context.Context) error {
	if err := s.Exec.PrepareBot(ctx, s.as.BotIntent().EnsureRegistered, s.Cfg.AppService.BotDisplayName); err != nil {
		return err
	}
	if s.Cfg.Trust.ManagementRoom != "" {
		roomID, err := s.ensureManagementRoom(ctx)
		if err != nil {
			// Not fatal: the rooms still get enforced; reports are only logged.
			s.Log.Error().Err(err).Str("management_room", s.Cfg.Trust.ManagementRoom).Msg("Management room unavailable; reports will only be logged")
			return nil
		}
		s.Exec.SetManagementRoom(roomID)
		s.Log.Info().Stringer("room_id", roomID).Msg("Management room ready")
	}
	return nil
}

// ManagementRoom is the resolved management room ID, or "".
func (s *Service) ManagementRoom() id.RoomID { return s.Exec.ManagementRoom() }

// FederationListRoom is the federation's policy list room, once joined.
func (s *Service) FederationListRoom() id.RoomID { return s.federation.Room() }

// FederationBanReason is why the federation's list bars user ("" if not).
func (s *Service) FederationBanReason(user string) string { return s.federation.BanReason(user) }
