package docs

import (
	"go/ast"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/caldicott/caldicott/internal/gosource"
)

// safetyDocs are the clinical safety file and the clinician guide: every
// test they name must exist (named as docs/security.md names them, testRef).
func safetyDocs(t *testing.T) []string {
	docs, err := filepath.Glob(filepath.Join("safety", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 3 {
		t.Fatalf("found %d documents in docs/safety; the clinical safety file is missing", len(docs))
	}
	return append(docs, "clinician-guide.md")
}

// bareTest is a test written in backquotes without its directory, which
// testRef cannot check.
var bareTest = regexp.MustCompile("`(?:[a-z0-9_./-]+\\.)?((?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9_]*)`")

// TestSafetyDocsNameRealTests fails when the clinical safety file or the
// clinician guide names a test that does not exist, or names one in a form
// this check cannot read (`TestX` without its directory).
func TestSafetyDocsNameRealTests(t *testing.T) {
	total := 0
	for _, doc := range safetyDocs(t) {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(src), "\n") {
			for _, ref := range testRef.FindAllStringSubmatch(line, -1) {
				total++
				if !defines(t, filepath.Join("..", ref[1]), ref[2]) {
					t.Errorf("%s:%d names %s:%s, which does not exist", doc, n+1, ref[1], ref[2])
				}
			}
			for _, bare := range bareTest.FindAllStringSubmatch(line, -1) {
				t.Errorf("%s:%d names %s without its directory; write it as `dir:%s`", doc, n+1, bare[1], bare[1])
			}
		}
	}
	if total < 60 {
		t.Fatalf("the safety documents name %d tests; the references were lost or this check no longer reads them", total)
	}
}

// Severities and likelihoods, least first, and DCB0129's risk matrix:
// riskMatrix[likelihood][severity].
var (
	severities  = []string{"Minor", "Significant", "Considerable", "Major", "Catastrophic"}
	likelihoods = []string{"Very low", "Low", "Medium", "High", "Very high"}
	riskMatrix  = [5][5]int{
		{1, 1, 2, 2, 3}, // very low
		{1, 2, 2, 3, 4}, // low
		{2, 2, 3, 3, 4}, // medium
		{2, 3, 3, 4, 5}, // high
		{3, 4, 4, 5, 5}, // very high
	}
)

// hazardRow is one row of the hazard log's summary table.
var hazardRow = regexp.MustCompile(`^\| (H\d\d) \| [^|]+ \| (\w+) \| ([\w ]+) \| (\d) \| (\w+) \| ([\w ]+) \| (\d) \|$`)

// TestHazardLog fails when a hazard's risk is not what the matrix gives for
// its severity and likelihood, when its risk after controls exceeds its risk
// before, when a hazard in the summary has no section or the other way
// round, or when a hazard's section names no test. The hazards the
// clinical safety file must cover are each looked for by a word of their
// title.
func TestHazardLog(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("safety", "hazard-log.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	var ids []string
	for n, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "| H") {
			continue
		}
		m := hazardRow.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("hazard-log.md:%d: a summary row not in the form | ID | hazard | severity | likelihood | risk | severity | likelihood | risk |", n+1)
			continue
		}
		ids = append(ids, m[1])
		before := checkRisk(t, m[1]+" initial", m[2], m[3], m[4])
		after := checkRisk(t, m[1]+" residual", m[5], m[6], m[7])
		if after > before {
			t.Errorf("%s: residual risk %d is above the initial %d", m[1], after, before)
		}
	}
	if len(ids) < 12 {
		t.Fatalf("the hazard log's summary has %d hazards; at least the twelve the safety file must cover", len(ids))
	}
	sections := hazardSections(doc)
	for _, id := range ids {
		body, ok := sections[id]
		if !ok {
			t.Errorf("%s is in the summary but has no section (## %s — …)", id, id)
			continue
		}
		if !testRef.MatchString(body) {
			t.Errorf("%s's section names no test that shows its controls", id)
		}
		for _, field := range []string{"**Cause:**", "**Effect:**", "**Initial risk:**", "**Controls in Caldicott:**", "**Residual risk:**", "**Stays organisational:**"} {
			if !strings.Contains(body, field) {
				t.Errorf("%s's section lacks %s", id, field)
			}
		}
	}
	for id := range sections {
		if !slices.Contains(ids, id) {
			t.Errorf("%s has a section but no row in the summary", id)
		}
	}
	for _, must := range []string{"wrong person", "leaver", "identity taken over", "social", "patient record", "wrong patient", "mass removal", "bot compromised", "downgraded", "Caldicott down", "gatekeeper down", "alert fatigue", "phoned"} {
		if !strings.Contains(strings.ToLower(doc), strings.ToLower(must)) {
			t.Errorf("the hazard log does not cover %q", must)
		}
	}
}

// checkRisk reports an unknown severity or likelihood, or a risk the
// matrix does not give them, and returns the risk as written.
func checkRisk(t *testing.T, what, severity, likelihood, risk string) int {
	s, l := slices.Index(severities, severity), slices.Index(likelihoods, likelihood)
	r, _ := strconv.Atoi(risk)
	if s < 0 || l < 0 {
		t.Errorf("%s: severity %q or likelihood %q is not one of DCB0129's (%v; %v)", what, severity, likelihood, severities, likelihoods)
		return r
	}
	if want := riskMatrix[l][s]; r != want {
		t.Errorf("%s: risk %d, but %s × %s is %d", what, r, severity, likelihood, want)
	}
	return r
}

// hazardSections maps each hazard's ID to the text of its section.
func hazardSections(doc string) map[string]string {
	out := map[string]string{}
	parts := regexp.MustCompile(`(?m)^## (H\d\d) — `).Split(doc, -1)
	ids := regexp.MustCompile(`(?m)^## (H\d\d) — `).FindAllStringSubmatch(doc, -1)
	for i, id := range ids {
		out[id[1]] = parts[i+1]
	}
	return out
}

// TestRiskMatrixMatchesTheReadme fails when the matrix the safety file
// shows readers differs from the one TestHazardLog reads risks from.
func TestRiskMatrixMatchesTheReadme(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("safety", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(string(src), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		l := slices.Index(likelihoods, strings.TrimSpace(cells[0]))
		if !strings.HasPrefix(line, "| ") || l < 0 || len(cells) != 6 {
			continue
		}
		rows++
		for s, cell := range cells[1:] {
			if r, _ := strconv.Atoi(cell); r != riskMatrix[l][s] {
				t.Errorf("README.md's matrix gives %s × %s as %q; the check uses %d", severities[s], likelihoods[l], cell, riskMatrix[l][s])
			}
		}
	}
	if rows != len(likelihoods) {
		t.Fatalf("README.md's risk matrix has %d likelihood rows, want %d", rows, len(likelihoods))
	}
}

// placeholder is how the clinician guide writes the parts of a bot's
// message that vary: [name], [trust], [reason].
var placeholder = regexp.MustCompile(`\[[^\]]*\]`)

// TestClinicianGuideQuotesTheBot fails when a bot message the clinician
// guide quotes (a "> " line) is no longer what the code says: each stretch
// of it between placeholders must be in one string of the production code.
func TestClinicianGuideQuotesTheBot(t *testing.T) {
	src, err := os.ReadFile("clinician-guide.md")
	if err != nil {
		t.Fatal(err)
	}
	literals := productionStrings(t)
	quotes := 0
	for n, line := range strings.Split(string(src), "\n") {
		quote, ok := strings.CutPrefix(line, "> ")
		if !ok {
			continue
		}
		quotes++
		for _, part := range placeholder.Split(quote, -1) {
			part = strings.TrimSpace(part)
			if len(part) < 12 {
				continue // too short to be the bot's words rather than anyone's
			}
			if !slices.ContainsFunc(literals, func(s string) bool { return strings.Contains(s, part) }) {
				t.Errorf("clinician-guide.md:%d quotes %q, which the bot no longer says", n+1, part)
			}
		}
	}
	if quotes < 15 {
		t.Fatalf("the clinician guide quotes %d bot messages; its quotes were lost or this check no longer reads them", quotes)
	}
}

// productionStrings are the string literals of the module's production code.
func productionStrings(t *testing.T) []string {
	var out []string
	for _, f := range gosource.Module(t).Files {
		ast.Inspect(f.AST, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out = append(out, s)
				}
			}
			return true
		})
	}
	return out
}

// mdLink is a relative Markdown link, with an optional #anchor.
var mdLink = regexp.MustCompile(`\]\(([^)#:]*)(#[^)]*)?\)`)

// TestSafetyDocsLinksResolve fails when a relative link in the safety
// documents points at a file or a heading that does not exist.
func TestSafetyDocsLinksResolve(t *testing.T) {
	for _, doc := range safetyDocs(t) {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(src), -1) {
			target := doc
			if m[1] != "" {
				target = filepath.Join(filepath.Dir(doc), m[1])
			}
			body, err := os.ReadFile(target)
			if err != nil {
				t.Errorf("%s links to %s, which does not exist", doc, m[1])
				continue
			}
			if m[2] != "" && !slices.Contains(anchors(string(body)), strings.TrimPrefix(m[2], "#")) {
				t.Errorf("%s links to %s%s, which has no such heading", doc, m[1], m[2])
			}
		}
	}
}

// anchors are the ids GitHub gives a Markdown file's headings: lower case,
// punctuation dropped, spaces as hyphens.
func anchors(md string) []string {
	var out []string
	for _, line := range strings.Split(md, "\n") {
		title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		out = append(out, b.String())
	}
	return out
}
