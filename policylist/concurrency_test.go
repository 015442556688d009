package policylist

import (
	"fmt"
	"sync"
	"testing"
)

// One intake loop applies while commands and joins query: run with -race.
func TestConcurrentApplyAndQuery(t *testing.T) {
	l := newList(t, Limits{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 500 {
			l.Apply(userBan(botB, fmt.Sprintf("@leaver%d:trust-b", i)))
			l.Apply(userBan(nurseB, fmt.Sprintf("@x%d:trust-b", i)))
		}
	})
	wg.Go(func() {
		for i := range 500 {
			l.Banned(fmt.Sprintf("@leaver%d:trust-b", i))
			l.MatchUser(regB)
			l.Counts()
			l.Refused()
			l.Rules()
			l.AllowedServers()
		}
	})
	wg.Wait()
	if n := l.Counts().Rules; n != 500 {
		t.Errorf("%d rules, want 500", n)
	}
}
