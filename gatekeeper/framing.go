package gatekeeper

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// framingConflictHeader marks, for the handler, a request whose head named
// both a Content-Length and a Transfer-Encoding (or folded a header line). Go's HTTP server drops the
// Content-Length of such a request before any handler sees it (RFC 9112
// §6.3), so only the bytes on the wire tell; the connection wrapper below
// reads them and adds this header. A client's own header of this name is
// removed on the wire, so only the wrapper can set it.
const framingConflictHeader = "Caldicott-Framing-Conflict"

// maxFramedLine bounds a request head or chunk-size line the wrapper
// buffers; past it, the bytes pass untouched and Go's own limits refuse them.
const maxFramedLine = 1 << 20

// guardFraming wraps a listener so that requests whose framing could be
// read two ways are marked, for refuseConflictingFraming to refuse. A TLS
// connection is left unwrapped: Go's server must see the *tls.Conn itself
// (for the handshake and HTTP/2, which has no such framing). Nothing is
// lost there: where the gatekeeper ends TLS itself, nothing stands in
// front of it to read a request another way, and Dendrite behind it is
// always sent one framing (Go's server keeps the chunked one).
func guardFraming(ln net.Listener) net.Listener { return framingListener{ln} }

// EndpointRequestFraming counts refusals of requests framed two ways, on
// any path; it cannot be switched off.
const EndpointRequestFraming = "request_framing"

// ReasonFramingConflict: a request named both a Content-Length and a
// Transfer-Encoding.
const ReasonFramingConflict = "framing_conflict"

type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if _, ok := c.(*tls.Conn); ok {
		return c, nil
	}
	return &framingConn{Conn: c, buf: make([]byte, 32<<10)}, nil
}

// refuseConflictingFraming answers a marked request 400, before anything
// is judged or forwarded: the body's end (and so where the next request
// starts) is read one way by the gatekeeper and could be read the other
// way by whatever stands in front of it or behind it.
func (g *Gatekeeper) refuseConflictingFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(framingConflictHeader) == "" {
			next.ServeHTTP(w, r)
			return
		}
		g.metrics.Refusals.WithLabelValues(EndpointRequestFraming, ReasonFramingConflict).Inc()
		g.log.Info().Str("endpoint", EndpointRequestFraming).Str("rule", ReasonFramingConflict).Msg("Refused before the homeserver")
		w.Header().Set("Connection", "close")
		(&Refusal{Status: http.StatusBadRequest, ErrCode: "M_UNKNOWN", Rule: ReasonFramingConflict,
			Reason: "The request's end could be read two ways (it names both a Content-Length and a Transfer-Encoding, or folds a header line), so it was not passed on. Send one or the other, on lines of their own."}).write(w)
	})
}

// framingConn follows HTTP/1.1 framing on the bytes a client sends (heads,
// then bodies by Content-Length or chunks), marking heads that name both
// framings and removing any framingConflictHeader the client wrote. It
// hands Go's server the same bytes otherwise. Anything it cannot follow
// (an unsupported encoding, a malformed chunk) it stops following and
// passes untouched: Go's server refuses those and closes the connection.
type framingConn struct {
	net.Conn
	buf  []byte
	raw  []byte // read, not yet followed
	out  []byte // followed, not yet handed to the server
	err  error
	f    framing
	lost bool
}

// framing is where the follower is: in a head, or in a body.
type framing struct {
	inBody   bool
	chunked  bool
	left     int64 // bytes of body (or of the current chunk) still to pass
	chunkEnd bool  // the CRLF after a chunk's data is next
	trailer  bool  // after the last chunk: trailer lines until an empty one
}

func (c *framingConn) Read(p []byte) (int, error) {
	if len(c.out) == 0 && len(c.raw) == 0 && c.err == nil && (c.lost || c.f.inBody && !c.f.chunked && c.f.left > 0) {
		return c.direct(p) // a body of known length (an upload): no copy
	}
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.Conn.Read(c.buf)
		c.raw = append(c.raw, c.buf[:n]...)
		c.follow()
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			// A deadline (Go's server sets them to end a background
			// read): the connection goes on.
			if len(c.out) == 0 {
				return 0, err
			}
		default: // nothing more will come: hand over what is left
			c.err = err
			c.out, c.raw = append(c.out, c.raw...), nil
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// CloseWrite half-closes the connection when the one beneath can, as Go's
// server does before closing after an error answer, so the client reads
// the answer before the connection goes.
func (c *framingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// direct reads the rest of a body of known length, or anything once the
// follower is lost, straight into p.
func (c *framingConn) direct(p []byte) (int, error) {
	if !c.lost && int64(len(p)) > c.f.left {
		p = p[:c.f.left]
	}
	n, err := c.Conn.Read(p)
	if !c.lost {
		c.f.left -= int64(n)
		if c.f.left == 0 {
			c.f = framing{}
		}
	}
	return n, err
}

// follow moves what it can from raw to out.
func (c *framingConn) follow() {
	for len(c.raw) > 0 {
		if c.lost {
			c.out, c.raw = append(c.out, c.raw...), nil
			return
		}
		var ok bool
		switch {
		case !c.f.inBody:
			ok = c.head()
		case c.f.chunked:
			ok = c.chunk()
		default:
			ok = c.pass()
		}
		if !ok {
			if len(c.raw) > maxFramedLine {
				c.lost = true
				continue
			}
			return // needs more bytes
		}
	}
}

// head follows one request head, when it is whole in raw.
func (c *framingConn) head() bool {
	end, lines := headLines(c.raw)
	if end < 0 {
		return false
	}
	var out [][]byte
	var lengths, encodings []string
	folded := false
	for i, line := range lines {
		name, value, _ := strings.Cut(string(line), ":")
		switch name = strings.TrimSpace(name); {
		case i == 0:
		case line[0] == ' ' || line[0] == '\t':
			// A folded line (obsolete, RFC 9112 §5.2) could carry a
			// framing header's value where this follower does not look.
			folded = true
		case strings.EqualFold(name, framingConflictHeader):
			continue
		case strings.EqualFold(name, "Content-Length"):
			lengths = append(lengths, strings.TrimSpace(value))
		case strings.EqualFold(name, "Transfer-Encoding"):
			encodings = append(encodings, strings.TrimSpace(value))
		}
		out = append(out, line)
	}
	if len(lengths) > 0 && len(encodings) > 0 || folded {
		out = append(out, []byte(framingConflictHeader+": 1"))
	}
	c.out = append(c.out, append(bytes.Join(out, []byte("\r\n")), "\r\n\r\n"...)...)
	c.raw = c.raw[end:]
	http10 := bytes.HasSuffix(bytes.TrimSpace(lines[0]), []byte("HTTP/1.0"))
	c.f = framing{inBody: true}
	switch {
	case len(encodings) > 0 && !http10: // Go ignores Transfer-Encoding in HTTP/1.0
		c.f.chunked = len(encodings) == 1 && strings.EqualFold(encodings[0], "chunked")
		c.lost = !c.f.chunked
	case len(lengths) > 0:
		n, err := strconv.ParseInt(lengths[0], 10, 64)
		c.f.left, c.lost = n, err != nil || n < 0
	}
	return true
}

// headLines finds the end of a head at the start of b (after the empty
// line; Go accepts lines ended by LF alone) and its lines without their
// endings; -1 when the head is not whole yet. Empty lines before the
// request line belong to it.
func headLines(b []byte) (int, [][]byte) {
	var lines [][]byte
	pos := 0
	for {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			return -1, nil
		}
		line := bytes.TrimSuffix(b[pos:pos+i], []byte("\r"))
		pos += i + 1
		if len(line) == 0 && len(lines) > 0 {
			return pos, lines
		}
		if len(line) > 0 {
			lines = append(lines, line)
		}
	}
}

// pass passes the rest of a body of known length.
func (c *framingConn) pass() bool {
	n := min(int64(len(c.raw)), c.f.left)
	c.out = append(c.out, c.raw[:n]...)
	c.raw = c.raw[n:]
	c.f.left -= n
	if c.f.left == 0 {
		c.f = framing{}
	}
	return true
}

// chunk follows a chunked body: size lines, data and their CRLFs, the last
// chunk and its trailer.
func (c *framingConn) chunk() bool {
	switch {
	case c.f.left > 0:
		n := min(int64(len(c.raw)), c.f.left)
		c.out = append(c.out, c.raw[:n]...)
		c.raw = c.raw[n:]
		c.f.left -= n
		c.f.chunkEnd = c.f.left == 0
		return true
	case c.f.chunkEnd:
		if len(c.raw) < 2 {
			return false
		}
		c.lost = string(c.raw[:2]) != "\r\n"
		c.out, c.raw = append(c.out, c.raw[:2]...), c.raw[2:]
		c.f.chunkEnd = false
		return true
	}
	i := bytes.IndexByte(c.raw, '\n')
	if i < 0 {
		return false
	}
	line := string(bytes.TrimSuffix(c.raw[:i], []byte("\r")))
	c.out, c.raw = append(c.out, c.raw[:i+1]...), c.raw[i+1:]
	if c.f.trailer {
		if line == "" {
			c.f = framing{}
		}
		return true
	}
	size, _, _ := strings.Cut(line, ";")
	n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
	switch {
	case err != nil || n < 0:
		c.lost = true
	case n == 0:
		c.f.trailer = true
	default:
		c.f.left = n
	}
	return true
}
