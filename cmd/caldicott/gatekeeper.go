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

	"github.com/caldicott/caldicott/gatekeeper"
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
	settings, err := gatekeeper.SettingsFrom(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott gatekeeper: %v\n", err)
		return exitConfig
	}
	log := newLogger(cfg, stderr).With().Str("component", "gatekeeper").Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The staff directory and holds (this trust's invitees and joiners are
	// looked up) and the files retention deleted, read only.
	st, code := openStore(ctx, cfg, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	settings.Directory = st
	settings.Media = st
	// The federation as the appservice last read it; refusals audited.
	settings.Records = st
	reg := prometheus.NewRegistry()
	gk := gatekeeper.New(settings, gatekeeper.NewMetrics(reg), log)
	go gk.Watch(ctx)
	if settings.MetricsListen != "" {
		metrics := &http.Server{Addr: settings.MetricsListen, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: settings.Timeouts.ReadHeader}
		go func() {
			if err := metrics.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("Gatekeeper metrics listener stopped")
			}
		}()
		defer metrics.Close()
	}
	ln, err := net.Listen("tcp", settings.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "caldicott gatekeeper: listen on %s: %v\n", settings.Listen, err)
		return exitRuntime
	}
	log.Info().Str("listen", settings.Listen).Stringer("upstream", settings.Upstream).Msg("Gatekeeper in front of the homeserver")
	if err := gatekeeper.Serve(ctx, ln, gk.Handler(), settings.Timeouts); err != nil {
		log.Error().Err(err).Msg("Gatekeeper stopped with an error")
		return exitRuntime
	}
	log.Info().Msg("Gatekeeper stopped")
	return exitOK
}
