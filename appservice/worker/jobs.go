package worker

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// Job is one periodic task. A zero interval turns it off.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context)
}

// Loop runs a job on its schedule until ctx ends, never overlapping itself.
func (j Job) Loop(ctx context.Context, log zerolog.Logger) {
	if j.Every <= 0 {
		return
	}
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			start := time.Now()
			log.Debug().Str("job", j.Name).Msg("Job started")
			j.Run(ctx)
			log.Debug().Str("job", j.Name).Dur("took", time.Since(start)).Msg("Job done")
		}
	}
}

// MaxBackoff bounds the wait between retries of anything that failed.
const MaxBackoff = time.Minute

// Sleep waits d or until ctx ends; it reports whether to carry on.
func Sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
