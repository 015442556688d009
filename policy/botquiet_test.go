package policy

import "testing"

func TestKeepBotQuiet(t *testing.T) {
	if d := KeepBotQuiet(true); len(d.Actions) != 0 {
		t.Fatalf("the rule is there, yet: %+v", d)
	}
	d := KeepBotQuiet(false)
	if len(d.Actions) != 1 || d.Actions[0].Kind != QuietBot || d.Actions[0].Rule != RuleBotQuiet {
		t.Fatalf("no quiet rule asked for: %+v", d)
	}
	if QuietBot.Visible() {
		t.Fatal("putting the rule again shows nothing, so it is not visible")
	}
}
