package gatekeeper

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// tunnel answers the CONNECT and carries bytes both ways between the
// client (Dendrite) and upstream until either side ends, nothing crosses
// for TunnelIdle, TunnelMax passes or ctx ends: a tunnel opened to a trust
// is not held open after it leaves the federation.
func (g *Gatekeeper) tunnel(ctx context.Context, w http.ResponseWriter, upstream net.Conn) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		(&Refusal{Status: http.StatusInternalServerError, ErrCode: "M_UNKNOWN", Reason: "This connection cannot be tunnelled."}).write(w)
		return
	}
	w.WriteHeader(http.StatusOK)
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	// The server's read and write deadlines stay on a hijacked connection:
	// the tunnel's own limits replace them.
	_ = client.SetDeadline(time.Time{})
	if err := buf.Flush(); err != nil {
		client.Close()
		upstream.Close()
		return
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); upstream.Close() }) }
	idle := time.AfterFunc(g.s.Timeouts.TunnelIdle, closeBoth)
	limit := time.AfterFunc(g.s.Timeouts.TunnelMax, closeBoth)
	stop := context.AfterFunc(ctx, closeBoth)
	defer func() { idle.Stop(); limit.Stop(); stop(); closeBoth() }()
	done := make(chan struct{}, 2)
	carry := func(dst io.Writer, src io.Reader) {
		_, _ = io.Copy(active{dst, idle, g.s.Timeouts.TunnelIdle}, src)
		closeBoth()
		done <- struct{}{}
	}
	go carry(upstream, buf.Reader) // what the client sent early is in buf
	go carry(client, upstream)
	<-done
	<-done
}

// active is a writer that puts off the idle timer with every write.
type active struct {
	w     io.Writer
	timer *time.Timer
	idle  time.Duration
}

func (a active) Write(p []byte) (int, error) {
	a.timer.Reset(a.idle)
	return a.w.Write(p)
}
