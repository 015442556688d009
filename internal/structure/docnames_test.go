package structure

import (
	"go/ast"
	"go/token"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// goName is a word written like a Go name made of several words
// (handleMembershipChange, SweepRoom): a letter or underscore first, and
// an upper-case letter after a lower-case one. A plain word ("Returns",
// "The", "save") or an acronym ("NHS", "SCIM") is read as English.
var goName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*[a-z][0-9]*[A-Z][A-Za-z0-9_]*$`)

// notNames are words of the domain written like Go names that a comment
// may start with as English.
var notNames = []string{"PostgreSQL", "WhatsApp", "GitHub"}

// TestDocCommentsNameTheirDeclaration: a doc comment that starts with a
// Go name starts with the name of what it documents (Go's convention), so
// a comment left behind when its function was renamed or split
// ("handleMembershipChange…" above HandleMembershipChange) fails.
func TestDocCommentsNameTheirDeclaration(t *testing.T) {
	tree := gosource.Module(t)
	checked := 0
	for _, f := range tree.Files {
		for _, d := range documented(f.AST) {
			checked++
			word := firstWord(d.doc)
			if goName.MatchString(word) && !slices.Contains(d.names, word) && !slices.Contains(notNames, word) {
				t.Errorf("%s: the doc comment starts with %s but documents %s; name it (or start with a plain word)", tree.Where(f, d.doc), word, strings.Join(d.names, ", "))
			}
		}
	}
	if checked < 500 {
		t.Fatalf("checked only %d doc comments; the walk no longer finds them", checked)
	}
}

// decl is a doc comment and the names it may start with.
type decl struct {
	doc   *ast.CommentGroup
	names []string
}

// documented lists the doc comments of a file's declarations: functions
// and methods, types, and constants and variables (a group's own comment
// aside, which is about the group).
func documented(f *ast.File) []decl {
	var out []decl
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Doc != nil {
				out = append(out, decl{d.Doc, []string{d.Name.Name}})
			}
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				continue
			}
			for _, s := range d.Specs {
				doc, names := specDoc(s)
				if doc == nil && !d.Lparen.IsValid() {
					doc = d.Doc
				}
				if doc != nil {
					out = append(out, decl{doc, names})
				}
			}
		}
	}
	return out
}

func specDoc(s ast.Spec) (*ast.CommentGroup, []string) {
	switch s := s.(type) {
	case *ast.TypeSpec:
		return s.Doc, []string{s.Name.Name}
	case *ast.ValueSpec:
		var names []string
		for _, n := range s.Names {
			names = append(names, n.Name)
		}
		return s.Doc, names
	}
	return nil, nil
}

// firstWord is the comment's first word without the punctuation that may
// follow a name ("RuleNotice:", "Store's").
func firstWord(doc *ast.CommentGroup) string {
	fields := strings.Fields(doc.Text())
	if len(fields) == 0 {
		return ""
	}
	w := strings.TrimSuffix(fields[0], "'s")
	return strings.TrimRight(w, ":,;.")
}
