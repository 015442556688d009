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
			j.Run(ctx)
			log.Debug().Str("job", j.Name).Dur("took", time.Since(start)).Msg("Job done")
		}
	}
}
