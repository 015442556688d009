package mxlog

import "github.com/rs/zerolog"

// Guard returns log with the hooks that keep the Matrix libraries' own log
// lines to identifiers. Caldicott's root logger passes through it, so every
// logger derived from it (and put in a context) carries them.
//
// dbutil (go.mau.fi/util), under mautrix's crypto and state stores, logs a
// query that took a second or more at trace with its arguments — members'
// display names, device names — in the field "query_args", next to a warning
// without them ("Query took long"). That trace line is dropped; the warning
// stays.
func Guard(log zerolog.Logger) zerolog.Logger {
	return log.Hook(dropQueryArgs{})
}

type dropQueryArgs struct{}

func (dropQueryArgs) Run(e *zerolog.Event, level zerolog.Level, msg string) {
	if level == zerolog.TraceLevel && msg == "Query" {
		e.Discard()
	}
}
