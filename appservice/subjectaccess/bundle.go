package subjectaccess

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Bundle receives the export's files, one after another: each is written
// in full before the next is created.
type Bundle interface {
	// Create starts the next file.
	Create(name string) (io.Writer, error)
	// Close finishes the bundle once every file is written.
	Close() error
}

// The files of a bundle, in the order they are written.
const (
	MessagesFile = "messages.jsonl"
	AuditFile    = "audit.jsonl"
	ManifestFile = "manifest.json"
	SumsFile     = "SHA256SUMS"
)

// DirBundle writes the files into a new directory, readable by its owner
// only: the bundle holds patient data.
type DirBundle struct {
	dir  string
	open *os.File
}

// NewDirBundle creates dir, which must not exist or be empty.
func NewDirBundle(dir string) (*DirBundle, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s already holds files; name a new directory, so that no export is mixed with another", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	// An empty directory made beforehand keeps its mode under MkdirAll;
	// the bundle holds personal data, so only its owner may read it.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict %s to its owner: %w", dir, err)
	}
	return &DirBundle{dir: dir}, nil
}

// Create starts a file in the directory.
func (d *DirBundle) Create(name string) (io.Writer, error) {
	if err := d.closeOpen(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(d.dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	d.open = f
	return f, nil
}

func (d *DirBundle) closeOpen() error {
	if d.open == nil {
		return nil
	}
	f := d.open
	d.open = nil
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return f.Close()
}

// Close finishes the last file.
func (d *DirBundle) Close() error { return d.closeOpen() }

// ZipBundle streams the files as one zip archive (for the admin API).
type ZipBundle struct {
	zw       *zip.Writer
	modified time.Time
}

// NewZipBundle writes a zip archive to w; files carry the time modified.
func NewZipBundle(w io.Writer, modified time.Time) *ZipBundle {
	return &ZipBundle{zw: zip.NewWriter(w), modified: modified}
}

// Create starts the next file of the archive.
func (z *ZipBundle) Create(name string) (io.Writer, error) {
	return z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.modified})
}

// Close writes the archive's directory.
func (z *ZipBundle) Close() error { return z.zw.Close() }

// summedWriter counts and hashes what goes through it.
type summedWriter struct {
	w     io.Writer
	sum   hash.Hash
	bytes int64
	lines int64
}

func newSummedWriter(w io.Writer) *summedWriter {
	return &summedWriter{w: w, sum: sha256.New()}
}

func (s *summedWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.sum.Write(p[:n])
	s.bytes += int64(n)
	for _, b := range p[:n] {
		if b == '\n' {
			s.lines++
		}
	}
	return n, err
}

func (s *summedWriter) hex() string { return hex.EncodeToString(s.sum.Sum(nil)) }
