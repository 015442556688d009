package appservice_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/adminauth"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// screenshotDir is where the test leaves the pictures the README shows,
// with -update-screenshots; otherwise in the temporary directory (and the
// log says where), so a run of the suite leaves the checkout as it was.
const screenshotDir = "../docs/screenshots"

var updateScreenshots = flag.Bool("update-screenshots", false, "write the compliance pages' screenshots into docs/screenshots for the README")

// newChromium starts one headless Chromium, bounded by limit, and returns
// a tab on it.
func newChromium(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(testenv.Chromium(t)),
		chromedp.DisableGPU, // no GPU in a container or CI; software rendering is enough
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start its sandbox as root (it needs an
		// unprivileged user for its namespaces), and containers and CI
		// run tests as root. The browser opens only our own loopback pages.
		opts = append(opts, chromedp.NoSandbox)
	}
	bounded, cancelBound := context.WithTimeout(context.Background(), limit)
	alloc, cancelAlloc := chromedp.NewExecAllocator(bounded, opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancelBound() })
	return tab
}

// nonCompliantRoom is a clinical room whose owner then demotes the bot
// below what it needs: hardening cannot repair it, so the compliance
// model reports it as not compliant.
func nonCompliantRoom(t *testing.T, tr *trust.Trust, owner *mautrix.Client) id.RoomID {
	t.Helper()
	bot := tr.BotID()
	room := testenv.RoomWithBot(t, owner, bot, &mautrix.ReqCreateRoom{
		Preset:             "private_chat",
		PowerLevelOverride: &event.PowerLevelsEventContent{Users: map[id.UserID]int{owner.UserID: 150, bot: 100}},
	})
	testenv.Say(t, owner, room, "!policy classify clinical")
	tr.CheckHardened(t, owner, room)
	testenv.SetPower(t, owner, room, bot, 0)
	testenv.WaitForNotice(t, owner, room, bot, "NOT compliant")
	testenv.Eventually(t, 20*time.Second, "the room recorded as not compliant", func() (bool, string) {
		pol, err := tr.Store.RoomPolicy(ctx, room.String())
		return err == nil && !pol.Compliant, fmt.Sprintf("%+v %v", pol, err)
	})
	return room
}

// codeFromDM reads the sign-in code the bot sent to the IG admin's direct
// chat, as their Matrix client would.
func codeFromDM(t *testing.T, tr *trust.Trust, ig *mautrix.Client) string {
	t.Helper()
	var dm string
	testenv.Eventually(t, 30*time.Second, "a direct chat with the IG admin", func() (bool, string) {
		v, ok, err := tr.Store.KV(ctx, "dm:"+ig.UserID.String())
		dm = v
		return ok && err == nil, ""
	})
	if _, err := ig.JoinRoomByID(ctx, id.RoomID(dm)); err != nil {
		t.Fatalf("the IG admin joins the direct chat: %v", err)
	}
	notice := testenv.WaitForNotice(t, ig, id.RoomID(dm), tr.BotID(), "sign-in code for Caldicott's pages")
	code := signInCode.FindStringSubmatch(notice)
	if code == nil {
		t.Fatalf("no code in %q", notice)
	}
	return code[1]
}

// page is a step in the browser that fails the test with what it was doing.
func page(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatalf("in Chromium, %s: %v", what, err)
	}
}

// text is what the element sel shows; an element that is not there fails
// the test within 10 s rather than at the browser's bound.
func text(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	short, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(short, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("in Chromium, reading %s: %v", sel, err)
	}
	return s
}

// screenshot keeps what the window shows (the top of the page: what an
// IG lead sees first), as a PNG small enough for the README.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %d bytes, %v", name, len(png), err)
	}
	dir := filepath.Join(os.TempDir(), "caldicott-screenshots")
	if *updateScreenshots {
		dir = screenshotDir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", filepath.Join(dir, name))
}

// TestCompliancePagesInChromium: the IG lead's pages in a real browser.
// The IG admin signs in with a code the bot sends to their direct chat,
// sees a clinical room the bot cannot repair listed as not compliant,
// follows it to the room's page, places a legal hold there with its form,
// and goes on to a member's page; a form posted
// without its CSRF token is refused and changes nothing; the overview
// prints to PDF as the evidence pack, with its period; signing out ends
// the session. Printed, the overview keeps its period and leaves out the
// menu and forms. Two screenshots are written (see screenshot).
func TestCompliancePagesInChromium(t *testing.T) {
	start := time.Now()
	testenv.Chromium(t) // skip (or fail in CI) before starting Dendrite
	port := testenv.FreePort(t, "127.0.0.1")
	tr := trust.New(t, trust.Options{Host: "127.0.0.11",
		ConfigYAML: fmt.Sprintf("admin_api: {listen: \"127.0.0.1:%d\", signin: {plain_http_loopback: true}}\n", port)})
	tr.Start(t)
	ig, _ := tr.IGAdmin(t)
	carol := tr.HS.RegisterUser(t, "carol", false)
	room := nonCompliantRoom(t, tr, carol)
	admin := fmt.Sprintf("http://127.0.0.1:%d", port)
	tab := newChromium(t, 60*time.Second)

	// Sign in: the Matrix ID, then the code from the direct chat.
	page(t, tab, "asking for a code",
		chromedp.Navigate(admin+"/_caldicott/signin"),
		chromedp.SendKeys(chromedp.ID("mxid"), ig.UserID.String()),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	code := codeFromDM(t, tr, ig)
	resp, err := chromedp.RunResponse(tab,
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	)
	if err != nil || resp.Status != 200 || !strings.HasSuffix(resp.URL, "/_caldicott/ui/") {
		t.Fatalf("signing in with the code: %v %+v", err, resp)
	}

	// The overview lists the room as not compliant.
	link := `#non-compliant-rooms li.room.non-compliant a.room-link`
	page(t, tab, "the overview", chromedp.WaitVisible(chromedp.ID("period-covered")))
	if got := text(t, tab, link); got != room.String() {
		t.Fatalf("the overview's non-compliant room is %q, want %s", got, room)
	}
	period := text(t, tab, "#period-covered")
	if !strings.Contains(period, "Period covered") {
		t.Errorf("the overview's period: %q", period)
	}
	screenshot(t, tab, "compliance-overview.png")

	// The evidence pack: the same page printed to PDF.
	pdf, err := chromedp.Run(tab, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4)))
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) || len(pdf) < 10_000 {
		t.Fatalf("printing the overview: %d bytes (%.8q), %v", len(pdf), pdf, err)
	}
	t.Logf("the overview printed to a %d-byte PDF", len(pdf))
	checkPrintLayout(t, tab)

	// The room's page, then a member's.
	if _, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(link))); err != nil {
		t.Fatalf("following the room link: %v", err)
	}
	if got := text(t, tab, "#room-id"); got != room.String() {
		t.Errorf("the room page shows %q, want %s", got, room)
	}
	if got := text(t, tab, "#room-compliant"); !strings.HasPrefix(got, "no") {
		t.Errorf("the room page's compliance: %q", got)
	}
	screenshot(t, tab, "compliance-room.png")

	// The room's page places a legal hold with its form, as the IG admin.
	if _, err := chromedp.RunResponse(tab,
		chromedp.SendKeys(chromedp.ID("hold-reason"), "complaint 2026/114"),
		chromedp.Click(chromedp.ID("hold-button")),
	); err != nil {
		t.Fatalf("pressing the hold button: %v", err)
	}
	if got := text(t, tab, "#act-result"); !strings.HasPrefix(got, "Legal hold placed") {
		t.Errorf("the page after pressing the hold button says %q", got)
	}
	if h, err := tr.Store.LegalHoldOf(ctx, room.String()); err != nil || h.HeldBy != ig.UserID.String() || h.Reason != "complaint 2026/114" {
		t.Errorf("the hold placed from the page: %+v %v", h, err)
	}
	person := fmt.Sprintf(`#room-members a.person-link[href$=%q]`, carol.UserID.String())
	if _, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(person))); err != nil {
		t.Fatalf("following %s: %v", person, err)
	}
	if got := text(t, tab, "#person-id"); got != carol.UserID.String() {
		t.Errorf("the person page shows %q, want %s", got, carol.UserID)
	}

	// CSRF: the sign-out form posted without its token is refused, and the
	// session goes on.
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector('#logout-form input[name="csrf"]').remove() === undefined`)); err != nil {
		t.Fatalf("removing the sign-out form's token: %v", err)
	}
	resp, err = chromedp.RunResponse(tab, chromedp.Click(chromedp.ID("logout-button")))
	if err != nil || resp.Status != 403 {
		t.Fatalf("signing out without the CSRF token: %v %+v", err, resp)
	}
	if got := text(t, tab, "h1"); got != "Refused" {
		t.Errorf("the page for a form without its token: %q", got)
	}
	resp, err = chromedp.RunResponse(tab, chromedp.Navigate(admin+"/_caldicott/ui/"))
	if err != nil || resp.Status != 200 {
		t.Fatalf("the overview after the refused form: %v %+v", err, resp)
	}

	// Signing out from the overview's form ends the session.
	if resp, err = chromedp.RunResponse(tab, chromedp.Click(chromedp.ID("logout-button"))); err != nil || resp.Status != 200 {
		t.Fatalf("signing out: %v %+v", err, resp)
	}
	resp, err = chromedp.RunResponse(tab, chromedp.Navigate(admin+"/_caldicott/ui/"))
	if err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector('#non-compliant-rooms') !== null`))
	if err != nil || shown || strings.HasSuffix(resp.URL, "/_caldicott/ui/") {
		t.Errorf("the overview after signing out: %d %s, overview shown %v (%v)", resp.Status, resp.URL, shown, err)
	}

	checkBrowserAudit(t, tr, ig.UserID.String())
	t.Logf("took %s", time.Since(start).Round(time.Second))
}

// checkPrintLayout: as printed, the evidence pack keeps its period and the
// non-compliant rooms and leaves out the menu, the sign-out and the
// period form.
func checkPrintLayout(t *testing.T, tab context.Context) {
	t.Helper()
	media := func(m string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
			return err
		})
	}
	page(t, tab, "emulating print", media("print"))
	defer page(t, tab, "back to the screen", media(""))
	shown, err := chromedp.Run(tab, chromedp.Evaluate[map[string]bool](`Object.fromEntries(
		['#period-covered', '#generated-at', '#non-compliant-rooms', '#main-nav', '#logout-form', '#period-form']
			.map(s => [s, document.querySelector(s).checkVisibility()]))`))
	if err != nil {
		t.Fatalf("reading the print layout: %v", err)
	}
	want := map[string]bool{"#period-covered": true, "#generated-at": true, "#non-compliant-rooms": true,
		"#main-nav": false, "#logout-form": false, "#period-form": false}
	for sel, w := range want {
		if shown[sel] != w {
			t.Errorf("printed, %s shown = %v, want %v", sel, shown[sel], w)
		}
	}
}

// checkBrowserAudit: the sign-in, the refused form and the sign-out are
// in the audit log, each under the IG admin's name.
func checkBrowserAudit(t *testing.T, tr *trust.Trust, who string) {
	t.Helper()
	seen := map[string]string{}
	if err := tr.Store.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
		seen[e.Action] = e.Actor
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{adminauth.ActionSignedIn, adminauth.ActionCSRFRefused, adminauth.ActionSignedOut} {
		if seen[action] != who {
			t.Errorf("audit %s by %q, want %s", action, seen[action], who)
		}
	}
}
