package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Unavailable skips the test, or fails it under CI where every part must run.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("required test dependency unavailable under CI: %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

// FreePort returns a TCP port free on ip at the moment of asking.
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	port, err := pickPort(ip)
	if err != nil {
		t.Fatalf("find free port on %s: %v", ip, err)
	}
	return port
}

// handedOut is every port pickPort has given this process.
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// pickPort asks the kernel for a free port on ip, and never gives the same
// one twice: the probe's listener is closed at once, so the kernel may
// offer that port to the very next probe (seen: a Dendrite given one port
// for both HTTP and HTTPS, which then failed to start).
func pickPort(ip string) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		handedOut.Lock()
		fresh := !handedOut.ports[port]
		if fresh {
			if handedOut.ports == nil {
				handedOut.ports = map[int]bool{}
			}
			handedOut.ports[port] = true
		}
		handedOut.Unlock()
		if fresh {
			return port, nil
		}
	}
	return 0, errors.New("every free port offered was handed out before")
}

// RepoRoot finds the module root by walking up to go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(data), "module github.com/caldicott/caldicott\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the caldicott module root")
		}
		dir = parent
	}
}

// tailFile returns the last n bytes of a log file, for failure messages.
func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, 0)
	}
	buf := make([]byte, n)
	k, _ := f.Read(buf)
	return string(buf[:k])
}
