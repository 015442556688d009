package subjectaccess

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bundle holds personal data: its directory is its owner's alone,
// whether Caldicott makes it or an operator made it empty beforehand, and
// no export is written among another's files.
func TestNewDirBundle(t *testing.T) {
	base := t.TempDir()
	made := filepath.Join(base, "made-empty")
	if err := os.Mkdir(made, 0o755); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(base, "full")
	if err := os.Mkdir(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "manifest.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, wantErr string
	}{
		{"a new directory", filepath.Join(base, "new", "sar-1"), ""},
		{"an empty directory made beforehand, world-readable", made, ""},
		{"a directory holding files", full, "already holds files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDirBundle(tt.dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("mode %v, want 0700", fi.Mode().Perm())
			}
		})
	}
}
