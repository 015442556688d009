package executor

import (
	"context"
	"testing"

	"github.com/caldicott/caldicott/policy"
)

func TestTransactionIDsFollowTheInput(t *testing.T) {
	ctx := WithInput(context.Background(), "event:$join")
	removeA := policy.RemoveByAdmin("@a:x", "@admin:x", "").Then(policy.RoomNotice(policy.RuleNotice, "I removed @a:x", "r"))
	removeB := policy.RemoveByAdmin("@b:x", "@admin:x", "").Then(policy.RoomNotice(policy.RuleNotice, "I removed @b:x", "r"))
	first := txnIDs(ctx, "!r:x", removeA.Actions)
	again := txnIDs(ctx, "!r:x", removeA.Actions)
	other := txnIDs(ctx, "!r:x", removeB.Actions)
	elsewhere := txnIDs(WithInput(context.Background(), "event:$other"), "!r:x", removeA.Actions)
	for i := range first {
		if first[i] != again[i] {
			t.Errorf("action %d: the same input decided again got a new ID", i)
		}
		if first[i] == other[i] {
			t.Errorf("action %d: two different members' actions share an ID", i)
		}
		if first[i] == elsewhere[i] {
			t.Errorf("action %d: two inputs share an ID", i)
		}
	}
	twice := txnIDs(ctx, "!r:x", removeA.Then(removeA).Actions)
	if twice[0] == twice[2] {
		t.Error("the same action twice in one decision must get two IDs")
	}
	anon := txnIDs(context.Background(), "!r:x", removeA.Actions)
	if anon[0] == txnIDs(context.Background(), "!r:x", removeA.Actions)[0] {
		t.Error("an unnamed input must not dedupe against another")
	}
}
