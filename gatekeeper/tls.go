package gatekeeper

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// ListenTLS wraps ln in TLS with the certificate and key in the PEM files
// certFile and keyFile (gatekeeper.tls_cert, tls_key), so the gatekeeper
// itself can stand on the federation port, where other servers connect
// with TLS, in front of Dendrite's plain-HTTP listener. The pair is read
// now (a bad pair stops the start) and again when either file changes, so
// a renewed certificate is served without a restart.
func ListenTLS(ln net.Listener, certFile, keyFile string) (net.Listener, error) {
	kp := &keyPair{certFile: certFile, keyFile: keyFile}
	if _, err := kp.certificate(nil); err != nil {
		return nil, err
	}
	return tls.NewListener(ln, &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: kp.certificate,
	}), nil
}

// keyPair is a certificate read from its files, read again when they change.
type keyPair struct {
	certFile, keyFile string

	mu              sync.Mutex
	cert            *tls.Certificate
	certMod, keyMod time.Time
}

// certificate returns the pair, reading the files again if either changed
// since they were last read. A pair that no longer loads (a renewal half
// written) leaves the last good one serving.
func (k *keyPair) certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	certMod, errCert := modTime(k.certFile)
	keyMod, errKey := modTime(k.keyFile)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cert != nil && (errCert != nil || errKey != nil || (certMod.Equal(k.certMod) && keyMod.Equal(k.keyMod))) {
		return k.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		if k.cert != nil {
			return k.cert, nil
		}
		return nil, fmt.Errorf("gatekeeper TLS key pair (%s, %s): %w", k.certFile, k.keyFile, err)
	}
	k.cert, k.certMod, k.keyMod = &cert, certMod, keyMod
	return k.cert, nil
}

func modTime(path string) (time.Time, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}
