package adminweb_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/appservice/adminweb"
	"github.com/caldicott/caldicott/compliance"
	ct "github.com/caldicott/caldicott/compliance/compliancetest"
	"github.com/caldicott/caldicott/gatekeeper"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// TestOverviewFitsTheWindow: the overview, with room and user IDs as long
// as a real homeserver's, fits a 1280 px window in Chromium: no table is
// pushed wider than the page (an ID has no space to break at).
func TestOverviewFitsTheWindow(t *testing.T) {
	chromium := testenv.Chromium(t)
	ctx := context.Background()
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "c.db"), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ct.Seed(t, st)
	long := ":caldicott-trust-a-homeserver.example.nhs.uk:8448"
	room, person := "!QzVbXkWmRtYuIoPaSdFgHjKlZxCvBnMq"+long, "@firstname.lastname-ward-seven-nights"+long
	for _, e := range []store.AuditEntry{
		{Actor: ct.Bot, RoomID: room, Action: string(policy.Kick), Reason: "not in the staff directory", Detail: `{"user_id":"` + person + `"}`},
		{Actor: person, RoomID: room, Action: gatekeeper.ActionRefused, Reason: "gate_not_in_directory"},
	} {
		e.Time = ct.Now.Add(-time.Hour)
		if _, err := st.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := adminweb.New(compliance.New(st, ct.Config(t)), testAuth, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set(sessionHeader, "ok")
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(web.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // root in a container; the browser opens only this loopback server
	}
	bounded, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(bounded, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate(web.URL+adminweb.UIPrefix), chromedp.WaitVisible(chromedp.ID("actions"))); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	// The page's width, the window's, and the most any table sticks out
	// of the section that holds it (a table wider than the page's column
	// runs into the margin before it widens the window).
	sizes, err := chromedp.Run(tab, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth,
		Math.max(0, ...[...document.querySelectorAll("table")].map(t => t.scrollWidth - t.parentElement.clientWidth))]`))
	if err != nil || len(sizes) != 3 {
		t.Fatal(sizes, err)
	}
	if !strings.Contains(body, person) || !strings.Contains(body, room) {
		t.Fatal("the long IDs are not on the page: the test shows nothing")
	}
	if sizes[1] != 1280 || sizes[0] > sizes[1] {
		t.Errorf("the overview is %d px wide in a %d px window", sizes[0], sizes[1])
	}
	if sizes[2] > 0 {
		t.Errorf("a table is %d px wider than the page's column", sizes[2])
	}
}
