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
func Serve(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(guardFraming(ln)) }()
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
