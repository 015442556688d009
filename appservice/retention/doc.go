// Package retention deletes messages when their room's retention period
// is over: a sweep walks each room's history oldest first, a page at a
// time, and redacts — through the executor — every event with content
// that has expired, the newest included, unless the room is on legal
// hold or the message awaits the patient record. Where it stopped is kept
// per room, so a restart resumes there; a redaction's transaction ID comes
// from the event, so nothing is redacted twice. The sweep runs as a long
// job beside enforcement and yields to it before every write.
//
// With Dendrite's media store at hand it also keeps the media index (the
// files every message and avatar points at) and, after a sweep, judges
// each deleted message's files: their bytes go, through the executor,
// only when nothing that must be kept uses them (policy.MediaFileFate).
package retention

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/appservice/worker"
)

// Metrics are the sweep's counters; labels carry no room or user.
type Metrics struct {
	Redactions   prometheus.Counter
	Backlog      prometheus.Gauge
	SweepSeconds prometheus.Histogram
	Failures     prometheus.Counter
	MediaDeleted prometheus.Counter
	// MediaKept counts expired messages' files kept, by why (label "reason":
	// policy's Media… reasons, or "unjudgeable").
	MediaKept *prometheus.CounterVec
}

// NewMetrics makes the sweep's metrics; register them with Collectors.
func NewMetrics() Metrics {
	return Metrics{
		Redactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caldicott_retention_redactions_total", Help: "Expired events deleted (redacted) by the retention sweep.",
		}),
		Backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caldicott_retention_backlog", Help: "Expired events waiting for deletion after the last sweep, over all rooms (a lower bound).",
		}),
		SweepSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "caldicott_retention_sweep_seconds", Help: "Time one sweep of every room took.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 8),
		}),
		Failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caldicott_retention_failures_total", Help: "Room sweeps that failed (the homeserver refused or could not be reached).",
		}),
		MediaDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caldicott_retention_media_deleted_total", Help: "Files of expired messages deleted from the media store.",
		}),
		MediaKept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caldicott_retention_media_kept_total", Help: "Files of expired messages kept because something that must be kept uses their bytes, or they could not be judged, by reason.",
		}, []string{"reason"}),
	}
}

// Collectors lists the metrics for a registry.
func (m Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Redactions, m.Backlog, m.SweepSeconds, m.Failures, m.MediaDeleted, m.MediaKept}
}

// Retention is the capability.
type Retention struct {
	*kit.Kit
	lanes   *worker.Lanes
	metrics Metrics
	media   *MediaStore
	// Keep says whether an event awaits the patient record (the records
	// capability's; nil: nothing awaits).
	Keep func(roomID, eventID string) bool
	// Life is the running service's context, for work a command starts
	// that outlives it (a sweep after a hold is lifted).
	Life context.Context
	// sweeping: rooms a sweep is working through now.
	sweeping roomSet
	// started is when this process began (files wait for the homeserver's
	// redelivery after it: releaseDue).
	started time.Time
}

// New builds the capability; keep says which events await the patient
// record and must outlive their retention.
func New(k *kit.Kit, lanes *worker.Lanes, m Metrics, keep func(roomID, eventID string) bool) *Retention {
	r := &Retention{Kit: k, lanes: lanes, metrics: m, Keep: keep, Life: context.Background(), started: k.Now()}
	if p := k.Cfg.Retention.MediaPath; p != "" {
		r.media = &MediaStore{Base: p, Server: k.Cfg.Homeserver.Domain}
	}
	return r
}
