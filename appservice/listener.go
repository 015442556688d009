package appservice

import (
	"net/http"
	"time"

	"github.com/caldicott/caldicott/config"
)

// newHTTPServer is Caldicott's one listener with every timeout set: without
// ReadTimeout a body sent a byte every 30 s held a connection for ever.
func newHTTPServer(t config.HTTPTimeouts, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader.Duration,
		ReadTimeout:       t.Read.Duration,
		WriteTimeout:      t.Write.Duration,
		IdleTimeout:       t.Idle.Duration,
	}
}

// progressWriter is for a response that may rightly take longer than the
// write timeout (a subject access export streaming a large bundle): it
// keeps its connection while it makes progress, each write moving the
// deadline on by the write timeout, so only a reader that stalls for that
// long is cut off. Connection deadlines are wall-clock time, not the
// store's clock, which a test may pin to another date.
type progressWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func newProgressWriter(w http.ResponseWriter, timeout time.Duration) *progressWriter {
	return &progressWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}
}

func (w *progressWriter) Write(p []byte) (int, error) {
	// Not every ResponseWriter supports deadlines (a test recorder does
	// not); the server's own timeout then stands.
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.ResponseWriter.Write(p)
}
