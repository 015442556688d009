package policylist_test

import (
	"encoding/json"
	"fmt"

	"github.com/caldicott/caldicott/policylist"
)

// Trust B's bot publishes a leaver; trust A's Caldicott, reading the same
// list room, learns of it and of a forged rule, and acts on each change.
func Example() {
	list, err := policylist.New(policylist.Authority{
		Bots:   map[string]string{"@caldicott:trust-a": "trust-a", "@caldicott:trust-b": "trust-b"},
		Admins: []string{"@ig.lead:trust-a"},
	}, policylist.Limits{})
	if err != nil {
		panic(err)
	}
	events := []policylist.Event{
		{Type: policylist.TypeUserRule, StateKey: "rule:@registrar:trust-b", Sender: "@caldicott:trust-b", EventID: "$1",
			Content: json.RawMessage(`{"entity":"@registrar:trust-b","recommendation":"m.ban","reason":"left the trust"}`)},
		{Type: policylist.TypeUserRule, StateKey: "rule:@registrar:trust-a", Sender: "@caldicott:trust-b", EventID: "$2",
			Content: json.RawMessage(`{"entity":"@registrar:trust-a","recommendation":"m.ban","reason":"forged"}`)},
		{Type: policylist.TypeUserRule, StateKey: "rule:@registrar:trust-b", Sender: "@nurse:trust-b", EventID: "$3",
			Content: json.RawMessage(`{}`)},
		{Type: policylist.TypeServerRule, StateKey: "rule:trust-c", Sender: "@ig.lead:trust-a", EventID: "$4",
			Content: json.RawMessage(`{"entity":"trust-c","recommendation":"org.matrix.mjolnir.allow","reason":"joined the network"}`)},
	}
	for _, evt := range events {
		switch c := list.Apply(evt); {
		case c.Refused != nil:
			fmt.Printf("%s refused: %s\n", evt.EventID, c.Refused.Reason)
		case c.Added != nil && c.Added.Kind == policylist.KindUser:
			fmt.Printf("%s: remove %s from every clinical room now\n", evt.EventID, c.Added.Entity)
		case c.Added != nil && c.Added.Kind == policylist.KindServer:
			fmt.Printf("%s: server ACLs now allow %v\n", evt.EventID, list.AllowedServers())
		}
	}
	_, banned := list.Banned("@registrar:trust-b")
	fmt.Println("registrar still banned:", banned)
	// Output:
	// $1: remove @registrar:trust-b from every clinical room now
	// $2 refused: @caldicott:trust-b speaks for trust-b, so it may not publish a rule about a user on trust-a
	// $3 refused: @nurse:trust-b is not a trust's bot, so it may not withdraw a user rule
	// $4: server ACLs now allow [trust-c]
	// registrar still banned: true
}
