package gosource

import (
	"bufio"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Tree is the module's production Go files (every .go file that is not a
// test, whatever its build tags), parsed with their comments.
type Tree struct {
	Root   string // the module's directory
	Module string // the module path, from go.mod
	Fset   *token.FileSet
	Files  []*File
}

// File is one parsed production file.
type File struct {
	Path string // on disk
	Rel  string // slash-separated, from the module root
	Dir  string // the package's directory, slash-separated from the root ("." for the root)
	AST  *ast.File
}

var (
	once   sync.Once
	module *Tree
	errMod error
)

// Module returns the tree of the module the test runs in, parsed once per
// test binary; it fails the test if the module cannot be read.
func Module(tb testing.TB) *Tree {
	tb.Helper()
	once.Do(func() {
		var root string
		if root, errMod = moduleRoot(); errMod == nil {
			module, errMod = Load(root)
		}
	})
	if errMod != nil {
		tb.Fatal(errMod)
	}
	if len(module.Files) < 50 {
		tb.Fatalf("read only %d production Go files from %s; a check over them would prove nothing", len(module.Files), module.Root)
	}
	return module
}

// Load parses every production Go file under root, the directory of a
// go.mod. Hidden directories, node_modules, testdata and nested modules
// are never entered.
func Load(root string) (*Tree, error) {
	mod, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	t := &Tree{Root: root, Module: mod, Fset: token.NewFileSet()}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return skipDir(root, path, d.Name())
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(t.Fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		t.Files = append(t.Files, &File{Path: path, Rel: rel, Dir: filepath.ToSlash(filepath.Dir(rel)), AST: f})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the Go files under %s: %w", root, err)
	}
	return t, nil
}

func skipDir(root, path, name string) error {
	if path == root {
		return nil
	}
	if strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" {
		return filepath.SkipDir
	}
	if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
		return filepath.SkipDir // another module (tools/dendrite)
	}
	return nil
}

// moduleRoot is the nearest directory at or above the working directory
// that holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if mod, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(mod), `"`), nil
		}
	}
	return "", fmt.Errorf("%s names no module", gomod)
}

// In reports whether the file is in one of dirs or below it (dirs are
// slash-separated, from the module root).
func (f *File) In(dirs ...string) bool {
	for _, d := range dirs {
		if f.Dir == d || strings.HasPrefix(f.Dir, d+"/") {
			return true
		}
	}
	return false
}

// Select is the files keep says yes to.
func (t *Tree) Select(keep func(f *File) bool) []*File {
	var out []*File
	for _, f := range t.Files {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// Where is a node's position with the file named from the module root,
// for messages.
func (t *Tree) Where(f *File, n ast.Node) string {
	return fmt.Sprintf("%s:%d", f.Rel, t.Fset.Position(n.Pos()).Line)
}

// Lines is how many lines a node spans, first and last included.
func (t *Tree) Lines(n ast.Node) int {
	return t.Fset.Position(n.End()).Line - t.Fset.Position(n.Pos()).Line + 1
}
