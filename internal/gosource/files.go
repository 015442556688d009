// Package gosource lists the repository's production Go files, for the
// tests that keep the code's shape by reading it (only the executor
// writes, decisions only in policy, one clock, no test hooks in the
// binary, every Matrix client without logged bodies). Only tests import it.
package gosource

import (
	"io/fs"
	"path/filepath"
	"strings"
)

// ProductionFiles walks root and returns the path (as given by root) and
// the slash-separated path relative to root of every .go file that is not
// a test. Hidden directories, node_modules and testdata are never entered;
// skipDir (may be nil) is asked about every other directory below root,
// by its relative path and its name.
func ProductionFiles(root string, skipDir func(rel, name string) bool) (paths, rels []string, err error) {
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || (skipDir != nil && skipDir(rel, name))) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") {
			paths, rels = append(paths, path), append(rels, rel)
		}
		return nil
	})
	return paths, rels, err
}
