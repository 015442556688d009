package gatekeeper

import (
	stdlog "log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// newProxy streams requests to Dendrite untouched: path, query, Host and
// the X-Forwarded-* headers the TLS front set all pass as they came.
func newProxy(upstream *url.URL, log zerolog.Logger) *httputil.ReverseProxy {
	transport := &http.Transport{
		Proxy:               nil, // Dendrite is local: never through an HTTP proxy from the environment
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		// No response header timeout: /sync long polls hold a request open.
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = pr.In.Host
			for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if v, ok := pr.In.Header[h]; ok {
					pr.Out.Header[h] = v
				}
			}
		},
		Transport:  transport,
		BufferPool: newBufferPool(),
		// The proxy's own complaints (a client gone mid-response) go to the
		// same log, at debug: they are the network's, not policy's.
		ErrorLog: stdlog.New(debugWriter{log}, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn().Err(err).Str("method", r.Method).Msg("Dendrite did not answer the proxied request")
			(&Refusal{Status: http.StatusBadGateway, ErrCode: "M_UNKNOWN", Reason: "The homeserver is not answering. Try again in a minute; if it keeps failing, tell your IT team."}).write(w)
		},
	}
}

// debugWriter writes the standard library's log lines to zerolog at debug.
type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
