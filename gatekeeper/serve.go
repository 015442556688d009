package gatekeeper

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Timeouts bound the proxy's client connections.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
	// TunnelIdle and TunnelMax bound the forward proxy's tunnels.
	TunnelIdle, TunnelMax time.Duration
}

// Serve runs h on ln until ctx ends, then shuts down gracefully (in-flight
// requests, /sync long polls included, get a few seconds to finish).
// Requests framed two ways are marked for refusal (guardFraming).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts) error {
	return serve(ctx, guardFraming(ln), h, t)
}

// ServeOutbound runs the forward proxy h (OutboundHandler) on ln as Serve
// does, but without the framing guard: after a CONNECT the connection
// carries TLS, not HTTP, and the guard would hold the tunnelled
// ClientHello as the head of a next request until the tunnel timed out.
// Nothing behind the proxy reads a request body, so there is nothing for
// the guard to protect.
func ServeOutbound(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts) error {
	return serve(ctx, ln, h, t)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("gatekeeper listener: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("gatekeeper shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("gatekeeper listener: %w", err)
	}
	return nil
}
