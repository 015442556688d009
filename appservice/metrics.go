package appservice

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caldicott/caldicott/appservice/retention"
)

// Metrics counts what Caldicott sees and does. Labels carry event types and
// action kinds only, never room names, user IDs or message content.
type Metrics struct {
	registry       *prometheus.Registry
	EventsReceived prometheus.Counter
	EventsIgnored  *prometheus.CounterVec
	TxnsReceived   *prometheus.CounterVec
	Actions        *prometheus.CounterVec
	HandleRetries  prometheus.Counter
	// MemberListReads counts member lists read from the homeserver; the
	// member cache keeps it near one per room per reconciliation.
	MemberListReads prometheus.Counter
	// Retention: deletions, backlog, sweep time and failures.
	Retention retention.Metrics
	// Leader is 1 while this process holds the leader's lease, and
	// LeaderEpoch the lease's epoch it last led at.
	Leader      prometheus.Gauge
	LeaderEpoch prometheus.Gauge
	// Takeovers counts tenures this process began by taking the lease from
	// a leader that stopped without handing it over (takeover.go).
	Takeovers prometheus.Counter
	// ConfigMismatch is 1 while the leader leads by other rules (config
	// or version) than this process would (leaderrules.go).
	ConfigMismatch prometheus.Gauge
	// DatabaseUp is 0 while the database does not answer (dbhealth.go).
	DatabaseUp prometheus.Gauge
	// Outside systems this process found down: 1 while down, 0 once back
	// (docs/operations.md, "When a dependency is down").
	LDAPUnreachable, RecordsUnreachable, SCIMSilent prometheus.Gauge
	// HomeserverUp is 0 while the leader cannot reach the homeserver, and
	// HomeserverOutages counts the outages it saw (hswatch.go).
	HomeserverUp      prometheus.Gauge
	HomeserverOutages prometheus.Counter
	// Encrypted events whose room key reached the bot's device late
	// (latekeys.go): waiting now, decrypted once it came, given up.
	LateKeysWaiting   prometheus.Gauge
	LateKeysDecrypted prometheus.Counter
	LateKeysGivenUp   *prometheus.CounterVec
}

// NewMetrics registers Caldicott's counters in a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		EventsReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caldicott_events_received_total", Help: "Events received from the homeserver and stored for handling.",
		}),
		EventsIgnored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caldicott_events_ignored_total", Help: "Events received and ignored, by reason.",
		}, []string{"reason"}),
		TxnsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caldicott_transactions_total", Help: "Transactions from the homeserver, by outcome.",
		}, []string{"outcome"}),
		Actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caldicott_actions_total", Help: "Actions executed, by kind and outcome.",
		}, []string{"kind", "outcome"}),
		HandleRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caldicott_handle_retries_total", Help: "Times handling an event was retried because the homeserver could not be reached.",
		}),
	}
	m.MemberListReads = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "caldicott_member_list_reads_total", Help: "Room member lists read from the homeserver (the member cache answers the rest).",
	})
	m.Leader = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "caldicott_leader", Help: "1 while this Caldicott holds the leader's lease and acts; 0 on standby.",
	})
	m.LeaderEpoch = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "caldicott_leader_epoch", Help: "The leader's lease's epoch this Caldicott last led at (it grows by one at every takeover).",
	})
	m.Takeovers = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "caldicott_takeovers_total", Help: "Times this Caldicott took the leader's lease from one that stopped without handing it over (killed, crashed, frozen or cut off from the database); a clean stop hands it over and is not counted.",
	})
	m.ConfigMismatch = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "caldicott_config_mismatch", Help: "1 while the leader runs with a different policy config or version from this Caldicott's (it will not take over while that leader lives); 0 otherwise.",
	})
	m.DatabaseUp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "caldicott_database_up", Help: "1 while the database answers this Caldicott's lease statements (every third of a lease); 0 while it cannot be reached.",
	})
	m.LDAPUnreachable = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "caldicott_directory_ldap_unreachable", Help: "1 while the staff directory cannot be read from LDAP (the last good copy is in use, nobody is removed on its account); 0 once a read succeeds.",
	})
	m.RecordsUnreachable = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "caldicott_records_unreachable", Help: "1 while the patient record (records.fhir_base_url) cannot be reached and messages wait for it; 0 once it accepts again.",
	})
	m.SCIMSilent = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "caldicott_directory_scim_silent", Help: "1 while no SCIM request has come for longer than directory.scim.expect_every; 0 otherwise.",
	})
	m.HomeserverUp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "caldicott_homeserver_up", Help: "0 while the leader cannot reach the homeserver (actions wait); 1 otherwise, and on a standby.",
	})
	m.HomeserverUp.Set(1)
	m.HomeserverOutages = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "caldicott_homeserver_outages_total", Help: "Times the leader found the homeserver unreachable (two probes in a row, 2s apart, failed).",
	})
	m.Retention = retention.NewMetrics()
	m.registry.MustRegister(m.EventsReceived, m.EventsIgnored, m.TxnsReceived, m.Actions, m.HandleRetries, m.MemberListReads, m.Leader, m.LeaderEpoch, m.Takeovers, m.ConfigMismatch, m.DatabaseUp)
	m.registry.MustRegister(m.LDAPUnreachable, m.RecordsUnreachable, m.SCIMSilent)
	m.registry.MustRegister(m.HomeserverUp, m.HomeserverOutages)
	m.registry.MustRegister(m.Retention.Collectors()...)
	m.addLateKeys()
	return m
}

// addLateKeys registers the counts of encrypted events whose room key
// reached the bot's device late.
func (m *Metrics) addLateKeys() {
	m.LateKeysWaiting = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "caldicott_late_keys_waiting", Help: "Encrypted events kept, unread, until their room key reaches the bot's device (in memory: a restart forgets them).",
	})
	m.LateKeysDecrypted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "caldicott_late_keys_decrypted_total", Help: "Encrypted events decrypted and handled after their room key reached the bot's device late.",
	})
	m.LateKeysGivenUp = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "caldicott_late_keys_given_up_total", Help: "Encrypted events given up while waiting for their room key, by reason (expired after 24 h, or full: the oldest of 10,000 dropped); each is also counted undecryptable in caldicott_events_ignored_total.",
	}, []string{"reason"})
	m.registry.MustRegister(m.LateKeysWaiting, m.LateKeysDecrypted, m.LateKeysGivenUp)
}
