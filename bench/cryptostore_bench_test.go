//go:build goolm

package bench_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

var (
	flagCryptoMessages = flag.Int("bench.crypto-messages", 1000, "crypto store: encrypted messages sent")
	flagCryptoSenders  = flag.Int("bench.crypto-senders", 4, "crypto store: senders, each with two devices")
	flagCryptoRooms    = flag.Int("bench.crypto-rooms", 2, "crypto store: encrypted clinical rooms")
	flagCryptoRotate   = flag.Int("bench.crypto-rotate", 10, "crypto store: a device starts a new Megolm session after this many messages in a room")
)

var cryptoStoreBench = &scenario[cryptoStoreResults]{
	why:  "a real Dendrite, the bot's encryption device on, a thousand encrypted messages from eight devices: a few minutes",
	test: "TestCryptoStoreScenario", timeout: "30m",
}

// cryptoTable is one crypto table's size: rows, and bytes as SQLite's
// dbstat counts them (the b-tree pages of the table and its indexes, and
// the payload in them).
type cryptoTable struct {
	Rows    int64 `json:"rows"`
	Pages   int64 `json:"page_bytes"`
	Payload int64 `json:"payload_bytes"`
}

// syncCost is a /sync that picks up the traffic of the whole run for a
// device like the bot's.
type syncCost struct {
	Requests int     `json:"requests"`
	Ms       float64 `json:"ms"`
	Bytes    int64   `json:"bytes"`
	ToDevice int     `json:"to_device"`
	Timeline int     `json:"timeline"`
}

// cryptoStoreResults are the scenario's figures.
type cryptoStoreResults struct {
	Messages, Devices, Rooms, Rotate int
	Cores                            int
	// DecryptedSecs: the send of the first message to the bot's replay
	// record of the last.
	SendSecs, DecryptedSecs float64
	// Decrypted counts the messages the bot decrypted (its replay
	// records): one whose key came more than 10 s after it is not.
	Decrypted     int64
	Before, After map[string]cryptoTable
	Sync          syncCost
	SyncIdleMs    float64
	Discarded     verification.SpentKeys
	DiscardMs     float64
	HeldKept      int64
}

// BenchmarkCryptoStore: senders with two devices each write encrypted
// messages into clinical rooms the bot's device is in, each device
// starting a new Megolm session every -bench.crypto-rotate messages per
// room. The figures are the bot's crypto tables per 1,000 messages, the
// /sync that carries that traffic to a device like the bot's, and the
// tables after the discard that follows a retention sweep (every room but
// one swept and caught up nine days on; that one on legal hold).
func BenchmarkCryptoStore(b *testing.B) {
	out := cryptoStoreBench.run(b)
	per := 1000 / float64(out.Messages)
	var rowsBefore, rowsAfter, bytesBefore, bytesAfter int64
	for _, t := range out.Before {
		rowsBefore, bytesBefore = rowsBefore+t.Rows, bytesBefore+t.Payload
	}
	for _, t := range out.After {
		rowsAfter, bytesAfter = rowsAfter+t.Rows, bytesAfter+t.Payload
	}
	b.ReportMetric(float64(rowsBefore)*per, "rows/1000msg")
	b.ReportMetric(float64(bytesBefore)*per, "payload-B/1000msg")
	b.ReportMetric(float64(rowsAfter)*per, "rows-after-sweep/1000msg")
	b.ReportMetric(float64(bytesAfter)*per, "payload-B-after-sweep/1000msg")
	b.ReportMetric(float64(out.Decrypted), "decrypted-by-the-bot")
	b.ReportMetric(out.DecryptedSecs, "s-to-last-decrypted")
	b.ReportMetric(out.Sync.Ms, "sync-ms")
	b.ReportMetric(float64(out.Sync.Bytes), "sync-B")
}

// TestCryptoStoreScenario is the benchmark's body, run in a child process
// (scenarioOnly).
func TestCryptoStoreScenario(t *testing.T) {
	scenarioOnly(t, "BenchmarkCryptoStore")
	if *flagCryptoMessages < 1 || *flagCryptoSenders < 1 || *flagCryptoRooms < 2 || *flagCryptoRotate < 1 {
		t.Fatal("-bench.crypto-*: want positive numbers and at least two rooms (one is held)")
	}
	tr := trust.New(t, benchOptions(trust.Options{Host: "127.0.0.11", Encryption: true,
		ConfigYAML: "retention: {clinical: {default: 30d, min: 1d, max: 3650d}, sweep_interval: 24h}\ndirectory: {sync_interval: 24h}\nreview: {check_interval: 24h}\nverification: {check_interval: 24h}\n"}))
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	var members []*mautrix.Client
	for i := range *flagCryptoSenders {
		members = append(members, tr.HS.RegisterUser(t, fmt.Sprintf("nurse%d", i), false))
	}
	var rooms []id.RoomID
	for range *flagCryptoRooms {
		rooms = append(rooms, tr.ClinicalRoom(t, alice, members...))
	}
	// A device like the bot's: alice's, with keys, which stops syncing
	// before the messages, so its /sync afterwards carries them all.
	shadow, stopShadow := cryptoDevice(t, alice, rooms)
	shadowSince, err := shadow.Store.LoadNextBatch(ctx, shadow.UserID)
	if err != nil || shadowSince == "" {
		t.Fatalf("the shadow device's sync token: %q %v", shadowSince, err)
	}
	stopShadow()
	var devices []*mautrix.Client
	for _, m := range members {
		dev, _ := cryptoDevice(t, m, rooms)
		devices = append(devices, dev)
		dev2, _ := cryptoDevice(t, secondLogin(t, tr, m), rooms)
		devices = append(devices, dev2)
	}
	res := cryptoStoreResults{Messages: *flagCryptoMessages, Devices: len(devices), Rooms: len(rooms), Rotate: *flagCryptoRotate, Cores: runtime.NumCPU()}
	began := time.Now()
	sendRotating(t, devices, rooms, res.Messages, res.Rotate)
	res.SendSecs = time.Since(began).Seconds()
	res.Decrypted = waitDecrypted(t, tr.Store, int64(res.Messages))
	res.DecryptedSecs = time.Since(began).Seconds()
	res.Before = cryptoTables(t, tr.Store)
	res.Sync, res.SyncIdleMs = measureSync(t, alice, shadowSince)

	// The discard as it runs after a sweep: every room but the first swept
	// and caught up nine days on, everything before then deleted; the
	// first on legal hold.
	later := time.Now().Add(9 * 24 * time.Hour)
	for i, room := range rooms {
		if err := tr.Store.SaveSweepState(ctx, store.SweepState{RoomID: room.String(), LastStarted: later, LastFinished: later}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := tr.Store.AddLegalHold(ctx, store.LegalHold{RoomID: room.String(), Reason: "benchmark", HeldBy: "@ig:" + tr.HS.ServerName, Since: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := time.Now()
	res.Discarded, err = verification.DiscardSpentRoomKeys(ctx, tr.Store, botIdentityKey(t, tr, alice), tr.BotID().String())
	if err != nil {
		t.Fatal(err)
	}
	res.DiscardMs = float64(time.Since(start).Microseconds()) / 1000
	res.After = cryptoTables(t, tr.Store)
	if err := tr.Store.DB().QueryRow(ctx, `SELECT COUNT(*) FROM crypto_megolm_inbound_session WHERE room_id = $1`, rooms[0]).Scan(&res.HeldKept); err != nil {
		t.Fatal(err)
	}
	if res.Discarded.Sessions == 0 || res.HeldKept == 0 {
		t.Errorf("discarded %+v, kept %d in the held room: want some of each", res.Discarded, res.HeldKept)
	}
	data, _ := json.MarshalIndent(res, "", "  ")
	t.Logf("crypto store: %s", data)
	if path := *flagResultsPath; path != "" {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// waitDecrypted waits until the bot has decrypted n messages, or none
// more for a minute, and returns how many it decrypted.
func waitDecrypted(t *testing.T, st *store.Store, n int64) int64 {
	t.Helper()
	last, still := int64(-1), time.Now()
	for {
		got := countRows(t, st, "crypto_message_index")
		if got >= n {
			return got
		}
		if got != last {
			last, still = got, time.Now()
		} else if time.Since(still) > time.Minute {
			t.Logf("the bot decrypted %d of %d messages; the rest stayed undecryptable", got, n)
			return got
		}
		time.Sleep(2 * time.Second)
	}
}

// cryptoDevice gives cli an encryption device (mautrix-go crypto, goolm)
// that syncs until it sees every room encrypted; stop ends its sync.
func cryptoDevice(t *testing.T, cli *mautrix.Client, rooms []id.RoomID) (*mautrix.Client, func()) {
	t.Helper()
	db, err := dbutil.NewWithDialect("file:"+filepath.Join(t.TempDir(), "crypto.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate", "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	helper, err := cryptohelper.NewCryptoHelper(cli, []byte("bench pickle key"), db)
	if err != nil {
		t.Fatal(err)
	}
	syncCtx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := helper.Init(syncCtx); err != nil {
		t.Fatalf("crypto init: %v", err)
	}
	cli.Crypto = helper
	done := make(chan struct{})
	go func() { defer close(done); _ = cli.SyncWithContext(syncCtx) }()
	testenv.Eventually(t, 60*time.Second, string(cli.DeviceID)+" to see the rooms encrypted", func() (bool, string) {
		for _, room := range rooms {
			if enc, _ := cli.StateStore.IsEncrypted(ctx, room); !enc {
				return false, room.String()
			}
		}
		return true, ""
	})
	return cli, func() { cancel(); <-done }
}

// secondLogin logs cli's user in again: a second device.
func secondLogin(t *testing.T, tr *trust.Trust, cli *mautrix.Client) *mautrix.Client {
	t.Helper()
	two, err := mautrix.NewClient(cli.HomeserverURL.String(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = two.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypePassword, StoreCredentials: true,
		Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: cli.UserID.Localpart()},
		Password:   "correct horse battery " + cli.UserID.Localpart()})
	if err != nil {
		t.Fatalf("second login of %s: %v", cli.UserID, err)
	}
	return two
}

// sendRotating has every device write its share of n messages, round the
// rooms, all devices at once; each starts a new Megolm session in a room
// after every rotate messages there (as a client does on its rotation
// period, or when members' devices change).
func sendRotating(t *testing.T, devices []*mautrix.Client, rooms []id.RoomID, n, rotate int) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(devices))
	for d, cli := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := map[id.RoomID]int{}
			mach := cli.Crypto.(*cryptohelper.CryptoHelper).Machine()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				room := rooms[i%len(rooms)]
				if sent[room] > 0 && sent[room]%rotate == 0 {
					if err := mach.CryptoStore.RemoveOutboundGroupSession(ctx, room); err != nil {
						errs[d] = err
						return
					}
				}
				body := fmt.Sprintf("Bed %d: BP %d/%d, HR %d, NEWS %d. Handover note %d.", i%28+1, 110+i%40, 70+i%20, 60+i%40, i%5, i)
				if _, err := cli.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: body}); err != nil {
					errs[d] = fmt.Errorf("%s sends message %d: %w", cli.DeviceID, i, err)
					return
				}
				sent[room]++
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// cryptoTableNames are mautrix-go's crypto tables that grow with traffic.
var cryptoTableNames = []string{"crypto_megolm_inbound_session", "crypto_message_index", "crypto_olm_session",
	"crypto_olm_message_hash", "crypto_device", "crypto_tracked_user", "crypto_megolm_outbound_session",
	"crypto_megolm_outbound_session_shared"}

func cryptoTables(t *testing.T, st *store.Store) map[string]cryptoTable {
	t.Helper()
	out := map[string]cryptoTable{}
	for _, name := range cryptoTableNames {
		tab := cryptoTable{Rows: countRows(t, st, name)}
		err := st.DB().QueryRow(ctx, `SELECT COALESCE(SUM(d.pgsize), 0), COALESCE(SUM(d.payload), 0)
			FROM dbstat d JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = $1`, name).Scan(&tab.Pages, &tab.Payload)
		if err != nil {
			t.Fatalf("size of %s: %v", name, err)
		}
		out[name] = tab
	}
	return out
}

func countRows(t *testing.T, st *store.Store, table string) int64 {
	t.Helper()
	var n int64
	if err := st.DB().QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// measureSync reads, as cli's device, every /sync since the token taken
// before the messages, until the to-device queue is empty; then one more
// (idle).
func measureSync(t *testing.T, cli *mautrix.Client, since string) (syncCost, float64) {
	t.Helper()
	var cost syncCost
	for range 100 {
		took, n, resp := rawSync(t, cli, since)
		cost.Requests++
		cost.Ms += took
		cost.Bytes += n
		cost.ToDevice += len(resp.ToDevice.Events)
		for _, r := range resp.Rooms.Join {
			cost.Timeline += len(r.Timeline.Events)
		}
		since = resp.NextBatch
		if len(resp.ToDevice.Events) == 0 {
			break
		}
	}
	idle, _, _ := rawSync(t, cli, since)
	return cost, idle
}

func rawSync(t *testing.T, cli *mautrix.Client, since string) (float64, int64, *mautrix.RespSync) {
	t.Helper()
	q := url.Values{"since": {since}, "timeout": {"0"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cli.BuildClientURL("v3", "sync")+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cli.AccessToken)
	start := time.Now()
	httpResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer httpResp.Body.Close()
	body, err := io.ReadAll(httpResp.Body)
	took := float64(time.Since(start).Microseconds()) / 1000
	if err != nil || httpResp.StatusCode != http.StatusOK {
		t.Fatalf("/sync: %d %v %.200s", httpResp.StatusCode, err, body)
	}
	var resp mautrix.RespSync
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	return took, int64(len(body)), &resp
}

// botIdentityKey is the bot device's Curve25519 key, as others see it.
func botIdentityKey(t *testing.T, tr *trust.Trust, cli *mautrix.Client) id.SenderKey {
	t.Helper()
	var device id.DeviceID
	if err := tr.Store.DB().QueryRow(ctx, `SELECT device_id FROM crypto_account WHERE account_id = ''`).Scan(&device); err != nil {
		t.Fatal(err)
	}
	keys, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{tr.BotID(): {device}}})
	if err != nil {
		t.Fatal(err)
	}
	dev, ok := keys.DeviceKeys[tr.BotID()][device]
	if !ok {
		t.Fatalf("the bot's device %s has no keys", device)
	}
	return id.SenderKey(dev.Keys.GetCurve25519(device))
}
