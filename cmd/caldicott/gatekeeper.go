package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/gatekeeper"
	"github.com/caldicott/caldicott/store"
)

// cmdGatekeeper runs the reverse proxy in front of Dendrite
// (docs/gatekeeper.md), with the same config file as the appservice.
func cmdGatekeeper(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("gatekeeper", stderr)
	cfgPath := fs.String("c", "config.yaml", "config file")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	cfg, code := loadConfig(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	if _, err := gatekeeper.SettingsFrom(cfg); err != nil {
		fmt.Fprintf(stderr, "caldicott gatekeeper: %v\n", err)
		return exitConfig
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, code := openStore(ctx, cfg, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	wait, err := startGatekeeper(ctx, cfg, st, log)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott gatekeeper: %v\n", err)
		return exitRuntime
	}
	if err := wait(); err != nil {
		return exitRuntime
	}
	return exitOK
}

// startGatekeeper builds the gatekeeper from the config on the store (the
// staff directory and holds, the files retention deleted, the federation
// view, the audit of its refusals) and starts it listening, in its own
// process (`caldicott gatekeeper`) or inside the appservice's
// (gatekeeper.in_process). It fails when it cannot listen; wait serves
// until ctx ends and says whether it stopped with an error.
func startGatekeeper(ctx context.Context, cfg *config.Config, st *store.Store, base zerolog.Logger) (wait func() error, err error) {
	settings, err := gatekeeper.SettingsFrom(cfg)
	if err != nil {
		return nil, err
	}
	log := base.With().Str("component", "gatekeeper").Logger()
	settings.UseStore(st)
	// Its refusals are its own, recorded by every replica: never fenced by
	// the appservice's leader's lease, even inside the appservice's process.
	settings.Records = st.Unfenced()
	reg := prometheus.NewRegistry()
	gk := gatekeeper.New(settings, gatekeeper.NewMetrics(reg), log)
	ln, err := net.Listen("tcp", settings.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", settings.Listen, err)
	}
	if settings.TLSCert != "" {
		tlsLn, err := gatekeeper.ListenTLS(ln, settings.TLSCert, settings.TLSKey)
		if err != nil {
			ln.Close()
			return nil, err
		}
		ln = tlsLn
	}
	outbound, err := listenOutbound(ctx, gk, settings, log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	go gk.Watch(ctx)
	var metrics *http.Server
	if settings.MetricsListen != "" {
		metrics = &http.Server{Addr: settings.MetricsListen, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: settings.Timeouts.ReadHeader}
		go func() {
			if err := metrics.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("Gatekeeper metrics listener stopped")
			}
		}()
	}
	log.Info().Str("listen", ln.Addr().String()).Bool("tls", settings.TLSCert != "").Stringer("upstream", settings.Upstream).Msg("Gatekeeper in front of the homeserver")
	return func() error {
		if metrics != nil {
			defer metrics.Close()
		}
		err := gatekeeper.Serve(ctx, ln, gk.Handler(), settings.Timeouts)
		// The proxy stops with the gatekeeper, whichever way it stopped.
		if outErr := outbound(); err == nil {
			err = outErr
		}
		if err != nil {
			log.Error().Err(err).Msg("Gatekeeper stopped with an error")
			return err
		}
		log.Info().Msg("Gatekeeper stopped")
		return nil
	}, nil
}

// listenOutbound starts the forward proxy for Dendrite's outbound
// federation on gatekeeper.outbound_listen, if set, until ctx ends or
// stop is called; stop returns once it has stopped.
func listenOutbound(ctx context.Context, gk *gatekeeper.Gatekeeper, s gatekeeper.Settings, log zerolog.Logger) (stop func() error, err error) {
	if s.OutboundListen == "" {
		return func() error { return nil }, nil
	}
	ln, err := net.Listen("tcp", s.OutboundListen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (gatekeeper.outbound_listen): %w", s.OutboundListen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- gatekeeper.ServeOutbound(ctx, ln, gk.OutboundHandler(ctx), s.Timeouts) }()
	log.Info().Str("listen", ln.Addr().String()).Str("outbound", s.Outbound).Msg("Forward proxy for outbound federation")
	return func() error { cancel(); return <-done }, nil
}
