package appservice

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/config"
)

// serve starts Caldicott's listener on loopback with these timeouts.
func serve(t *testing.T, timeouts config.HTTPTimeouts, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(timeouts, h)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func timeouts(header, read, write, idle time.Duration) config.HTTPTimeouts {
	var t config.HTTPTimeouts
	t.ReadHeader.Duration, t.Read.Duration, t.Write.Duration, t.Idle.Duration = header, read, write, idle
	return t
}

// closedWithin sends one byte every gap (what a slow client does) until the
// server closes the connection, and says how long that took; it fails the
// test if the server keeps it open for limit.
func closedWithin(t *testing.T, conn net.Conn, gap, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn) // returns when the server closes
		close(closed)
	}()
	for time.Since(start) < limit {
		select {
		case <-closed:
			return time.Since(start)
		case <-time.After(gap):
		}
		if _, err := conn.Write([]byte("x")); err != nil {
			return time.Since(start)
		}
	}
	t.Fatalf("the server still held the connection after %s", limit)
	return 0
}

// Every way a client can hold a connection by being slow is cut off: a body
// sent a byte at a time (the measured door: a byte every 30 s held a
// connection for ever), headers sent a byte at a time, a kept-alive
// connection left idle, and a response nobody reads.
func TestListenerCutsSlowClients(t *testing.T) {
	var bodyErr = make(chan error, 1)
	written := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /_matrix/app/v1/transactions/{txn}", func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		bodyErr <- err
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 1<<20)
		var err error
		for i := 0; i < 256 && err == nil; i++ {
			_, err = w.Write(chunk)
		}
		written <- err
	})
	addr := serve(t, timeouts(300*time.Millisecond, time.Second, 2*time.Second, time.Second), mux)
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	t.Run("a body sent a byte at a time", func(t *testing.T) {
		conn := dial()
		fmt.Fprintf(conn, "PUT /_matrix/app/v1/transactions/1 HTTP/1.1\r\nHost: caldicott\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		took := closedWithin(t, conn, 200*time.Millisecond, 10*time.Second)
		if took > 3*time.Second {
			t.Errorf("cut off after %s; read timeout is 1s", took)
		}
		select {
		case err := <-bodyErr:
			if err == nil {
				t.Error("the handler read a whole body that was never sent")
			}
		case <-time.After(5 * time.Second):
			t.Error("the handler's read of the body never ended")
		}
	})

	t.Run("headers sent a byte at a time", func(t *testing.T) {
		conn := dial()
		fmt.Fprintf(conn, "GET /health HTTP/1.1\r\nHost: caldicott\r\nX-Slow: ")
		if took := closedWithin(t, conn, 100*time.Millisecond, 10*time.Second); took > 2*time.Second {
			t.Errorf("cut off after %s; read_header timeout is 300ms", took)
		}
	})

	t.Run("a kept-alive connection left idle", func(t *testing.T) {
		conn := dial()
		fmt.Fprintf(conn, "GET /health HTTP/1.1\r\nHost: caldicott\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("health: %v %v", resp, err)
		}
		resp.Body.Close()
		start := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		if took := time.Since(start); !errors.Is(err, io.EOF) || took > 3*time.Second {
			t.Errorf("idle connection: %v after %s; idle timeout is 1s", err, took)
		}
	})

	t.Run("a response nobody reads", func(t *testing.T) {
		conn := dial()
		fmt.Fprintf(conn, "GET /big HTTP/1.1\r\nHost: caldicott\r\n\r\n")
		select {
		case err := <-written:
			if err == nil {
				t.Error("256 MiB were written to a client that read nothing")
			}
		case <-time.After(10 * time.Second):
			t.Error("the handler was still writing after 10s; write timeout is 2s")
		}
	})
}

// A subject access export may stream for longer than the write timeout: it
// keeps its connection while it makes progress, and loses it when its
// reader stalls. Without the progress writer the same response is cut off
// at the write timeout (the control case), so the test shows the writer is
// what keeps it.
func TestLongExportKeepsItsConnectionWhileItProgresses(t *testing.T) {
	const chunks, chunkSize = 12, 64 << 10
	stalledErr := make(chan error, 1)
	mux := http.NewServeMux()
	stream := func(progress bool) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			out := io.Writer(w)
			if progress {
				out = newProgressWriter(w, time.Second)
			}
			for i := 0; i < chunks; i++ {
				time.Sleep(200 * time.Millisecond) // reading the homeserver
				if _, err := out.Write([]byte(strings.Repeat("x", chunkSize))); err != nil {
					return
				}
			}
		}
	}
	mux.HandleFunc("GET /export", stream(true))
	mux.HandleFunc("GET /export-without-progress", stream(false))
	mux.HandleFunc("GET /export-stalled", func(w http.ResponseWriter, _ *http.Request) {
		out := newProgressWriter(w, time.Second)
		var err error
		for i := 0; i < 1024 && err == nil; i++ {
			_, err = out.Write(make([]byte, 1<<20))
		}
		stalledErr <- err
	})
	// 12 chunks 200ms apart: 2.4s, beyond the 1s write timeout.
	addr := serve(t, timeouts(time.Second, time.Second, time.Second, time.Second), mux)
	get := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		return int(n)
	}
	if n := get("/export"); n != chunks*chunkSize {
		t.Errorf("export with progress: %d bytes, want all %d", n, chunks*chunkSize)
	}
	if n := get("/export-without-progress"); n >= chunks*chunkSize {
		t.Errorf("control: without the progress writer the write timeout should have cut the response, got all %d bytes", n)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /export-stalled HTTP/1.1\r\nHost: caldicott\r\n\r\n") // and never read
	select {
	case err := <-stalledErr:
		if err == nil {
			t.Error("1 GiB was written to a reader that read nothing")
		}
	case <-time.After(15 * time.Second):
		t.Error("a stalled reader still held the export after 15s; it should lose it after 1s without progress")
	}
}
