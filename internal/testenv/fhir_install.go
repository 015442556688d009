package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// fhirInstall installs e2e/fhir's locked npm dependencies with npm ci into
// a cache directory named after the lock file, so reruns and other test
// binaries reuse it; a file lock keeps two test binaries from installing at
// once. Without a cache directory it installs in e2e/fhir (git-ignored).
func fhirInstall(src string) (string, error) {
	pkg, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		return "", err
	}
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		return "", err
	}
	dir := src
	if cache := caldicottCache(); cache != "" {
		dir = filepath.Join(cache, "fhir-e2e-"+shortHash(pkg, lock))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(dir, ".install.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	done := filepath.Join(dir, "node_modules", ".caldicott-installed")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	if dir != src {
		for name, data := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				return "", err
			}
		}
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return dir, os.WriteFile(done, nil, 0o644)
}

// placeScript copies server.mjs beside the installed node_modules — Node
// resolves a module's imports from where the module file is — under a name
// holding its hash, written by rename so a concurrent copy is never half read.
func placeScript(dir, src string) (string, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	if filepath.Dir(src) == dir {
		return src, nil
	}
	dst := filepath.Join(dir, "server-"+shortHash(data)+".mjs")
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	tmp, err := os.CreateTemp(dir, ".server-*.mjs")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp.Name(), dst)
}

// caldicottCache is the cache scripts/build-dendrite.sh uses too:
// $CALDICOTT_CACHE, else <user cache dir>/caldicott; "" if there is none.
func caldicottCache() string {
	if v := os.Getenv("CALDICOTT_CACHE"); v != "" {
		return v
	}
	if base, err := os.UserCacheDir(); err == nil {
		return filepath.Join(base, "caldicott")
	}
	return ""
}

func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func shortHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
