package appservice_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// tcpCut stands between Caldicott and an outside system (LDAP, the FHIR
// server) on a port of its own. Cut makes that port refuse connections
// and resets the open ones — what Caldicott sees when the system is
// stopped — while the system itself stays up, so a test can change it
// meanwhile (a leaver marked in LDAP during the outage). Mend listens on
// the same port again.
type tcpCut struct {
	Addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	// cutAfter, when above 0, cuts once that many more bytes have come
	// back from the system (CutAfter): an outage in the middle of a read.
	cutAfter atomic.Int64
}

// CutAfter arms a cut once n more bytes have come back from the system.
func (c *tcpCut) CutAfter(n int64) { c.cutAfter.Store(n) }

func newTCPCut(t *testing.T, target string) *tcpCut {
	t.Helper()
	c := &tcpCut{Addr: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1")), target: target, conns: map[net.Conn]bool{}}
	c.Mend(t)
	t.Cleanup(c.Cut)
	return c
}

// Mend opens the port again.
func (c *tcpCut) Mend(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; the kernel may take a moment to free it.
	for range 50 {
		if ln, err = net.Listen("tcp", c.Addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on %s again: %v", c.Addr, err)
	}
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go c.accept(ln)
}

// Cut closes the port and every connection through it.
func (c *tcpCut) Cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		_ = c.ln.Close()
		c.ln = nil
	}
	for conn := range c.conns {
		_ = conn.Close()
	}
	clear(c.conns)
}

func (c *tcpCut) accept(ln net.Listener) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		c.mu.Lock()
		if c.ln != ln { // cut meanwhile
			c.mu.Unlock()
			_ = in.Close()
			_ = out.Close()
			return
		}
		c.conns[in], c.conns[out] = true, true
		c.mu.Unlock()
		go c.pipe(in, out, true)
		go c.pipe(out, in, false)
	}
}

// pipe copies src to dst; back is the system's answers coming back.
func (c *tcpCut) pipe(dst, src net.Conn, back bool) {
	buf := make([]byte, 512) // small reads, so a cut falls inside a reply
	for {
		n, err := src.Read(buf)
		if n > 0 && back && c.cutAfter.Load() > 0 && c.cutAfter.Add(-int64(n)) <= 0 {
			c.Cut()
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
	c.mu.Lock()
	delete(c.conns, dst)
	delete(c.conns, src)
	c.mu.Unlock()
}

// metricLine reads one of Caldicott's metrics: its line, e.g. "name 1".
func metricLine(t *testing.T, tr *trust.Trust, name string) string {
	t.Helper()
	for _, l := range strings.Split(scrape(t, tr), "\n") {
		if strings.HasPrefix(l, name+" ") {
			return l
		}
	}
	t.Fatalf("no metric %s", name)
	return ""
}

// auditEntries lists the audit entries with this action written since since.
func auditEntries(t *testing.T, tr *trust.Trust, since time.Time, action string) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	err := tr.Store.AuditSince(ctx, since, func(e store.AuditEntry) error {
		if e.Action == action {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// auditIntact fails the test unless the audit chain verifies.
func auditIntact(t *testing.T, tr *trust.Trust) {
	t.Helper()
	rep, err := tr.Store.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("audit chain broken: %v", rep.Problems)
	}
}

// membershipChanges counts user's member events in room that set
// membership to want (e.g. how many times they were removed).
func membershipChanges(t *testing.T, cli *mautrix.Client, room id.RoomID, user id.UserID, want event.Membership) int {
	t.Helper()
	resp, err := cli.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 500)
	if err != nil {
		t.Fatalf("read messages of %s: %v", room, err)
	}
	n := 0
	for _, evt := range resp.Chunk {
		if evt.Type != event.StateMember || evt.StateKey == nil || *evt.StateKey != user.String() {
			continue
		}
		_ = evt.Content.ParseRaw(evt.Type)
		if evt.Content.AsMember().Membership == want {
			n++
		}
	}
	return n
}

// noticeCount counts the bot's notices in room containing want.
func noticeCount(t *testing.T, cli *mautrix.Client, room id.RoomID, bot id.UserID, want string) func() (bool, string) {
	return func() (bool, string) {
		n := countNotices(t, cli, room, bot, want)
		return n == 1, fmt.Sprintf("%d notices with %q, want 1", n, want)
	}
}
