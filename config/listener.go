package config

import "time"

// Listener timeouts used when the config does not set them.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 120 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
)

// HTTPTimeouts bound every connection to Caldicott's listener, so a client
// that sends (or reads) a byte at a time cannot hold connections open.
type HTTPTimeouts struct {
	// ReadHeader is how long a client has to send a request's headers.
	ReadHeader Duration `yaml:"read_header"`
	// Read is how long it has to send a whole request, body included.
	Read Duration `yaml:"read"`
	// Write bounds a response, from the end of the request's headers. A
	// subject access export may stream for longer: it keeps its
	// connection while it makes progress, each write moving the deadline
	// on by this much.
	Write Duration `yaml:"write"`
	// Idle is how long a kept-alive connection may wait for its next request.
	Idle Duration `yaml:"idle"`
}

func (t *HTTPTimeouts) defaults() {
	for _, d := range []struct {
		field *Duration
		def   time.Duration
	}{
		{&t.ReadHeader, DefaultReadHeaderTimeout},
		{&t.Read, DefaultReadTimeout},
		{&t.Write, DefaultWriteTimeout},
		{&t.Idle, DefaultIdleTimeout},
	} {
		// A 0s written in the file stays, for validation to refuse:
		// net/http reads 0 as "no limit".
		if !d.field.set {
			d.field.Duration = d.def
		}
	}
}

// validate checks the timeouts: none may be off (net/http reads 0 as "no
// limit", the door these close), and a response's deadline must leave
// time to read the request first.
func (t *HTTPTimeouts) validate(p *problems) {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header", t.ReadHeader.Duration}, {"read", t.Read.Duration}, {"write", t.Write.Duration}, {"idle", t.Idle.Duration}} {
		if d.v < 100*time.Millisecond {
			p.add("appservice.timeouts."+d.key, "%s is too short; at least 100ms (it cannot be off: a slow client would hold connections open)", d.v)
		}
	}
	if t.ReadHeader.Duration > t.Read.Duration {
		p.add("appservice.timeouts.read_header", "%s is more than read (%s), which covers the headers too", t.ReadHeader.Duration, t.Read.Duration)
	}
	if t.Write.Duration < t.Read.Duration {
		p.add("appservice.timeouts.write", "%s is less than read (%s): the write deadline starts when the headers have arrived, so a transaction still being read would lose its answer", t.Write.Duration, t.Read.Duration)
	}
}
