package mxlog

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

const planted = "Mrs Featherstonehaugh, NHS 943 476 5919"

// send sends a notice holding the planted text to an address where nothing
// listens, so the request fails and mautrix logs it at error level, with a
// logger at trace. It returns the log.
func send(t *testing.T, omit bool) (string, bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cli, err := mautrix.NewClient("http://"+addr, "@caldicott:test", "token")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	cli.Log = zerolog.New(&buf).Level(zerolog.TraceLevel)
	cli.DefaultHTTPRetries = 0
	hooked := false
	cli.RequestHook = func(*http.Request) { hooked = true }
	if omit {
		OmitBodies(cli)
	}
	_, err = cli.SendMessageEvent(context.Background(), id.RoomID("!room:test"), event.EventMessage,
		&event.MessageEventContent{MsgType: event.MsgNotice, Body: planted})
	if err == nil {
		t.Fatal("a request to a closed port succeeded")
	}
	if !strings.Contains(buf.String(), `"level":"error"`) || !strings.Contains(buf.String(), "Request failed") {
		t.Fatalf("mautrix did not log the failed request at error level:\n%s", buf.String())
	}
	return buf.String(), hooked
}

// TestOmitBodies: mautrix logs a failed request with its body; with
// OmitBodies the line stays (method, URL, error) but the body is its size.
func TestOmitBodies(t *testing.T) {
	// Without: the body is in the log. If mautrix ever stops logging bodies
	// this fails, and this package can go.
	if logs, _ := send(t, false); !strings.Contains(logs, planted) {
		t.Fatalf("mautrix no longer logs request bodies; OmitBodies may be unneeded:\n%s", logs)
	}
	logs, hooked := send(t, true)
	if strings.Contains(logs, planted) {
		t.Errorf("the body is in the log:\n%s", logs)
	}
	for _, want := range []string{`"req_body":"<`, "bytes, not logged>", "%21room:test", `"method":"PUT"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log line lacks %s:\n%s", want, logs)
		}
	}
	if !hooked {
		t.Error("the client's own request hook no longer runs")
	}
}
