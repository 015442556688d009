package policylist

import "fmt"

// Apply takes one event from the list room, in room order, and returns what
// it changed. Events that are not policy rules (or redactions) change
// nothing. An event already applied (same event ID at the same key) changes
// nothing either, so a state snapshot can follow the timeline safely.
//
// The list keeps the last authorised state at each (type, state key): an
// event that is refused — for any reason, from any sender — never removes
// or replaces the rule in force there. Only a removal (empty content, or an
// entity or recommendation missing) by a sender who could have published
// that rule withdraws it.
func (l *List) Apply(evt Event) Change {
	if evt.Type == typeRedaction {
		return l.applyRedaction(evt)
	}
	kind, ok := KindOf(evt.Type)
	if !ok {
		return Change{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()

	at := key{evt.Type, evt.StateKey}
	old := l.rules[at]
	if old != nil && evt.EventID != "" && old.EventID == evt.EventID {
		return Change{}
	}
	content, removal := parseContent(evt.Content)
	if removal {
		if old == nil {
			return Change{}
		}
		if why := l.auth.mayRemove(evt.Sender, &old.Rule); why != "" {
			return l.refuse(evt, kind, content, why, old)
		}
		l.delete(at, old)
		return Change{Removed: ruleOf(old)}
	}

	e, why := l.judge(evt, kind, content)
	if why != "" {
		return l.refuse(evt, kind, content, why, old)
	}
	if old != nil {
		// Writing at a key is also withdrawing what was there: a trust's
		// bot must not replace another trust's rule by reusing its key.
		if why := l.auth.mayRemove(evt.Sender, &old.Rule); why != "" {
			return l.refuse(evt, kind, content, "it overwrites a rule it may not withdraw: "+why, old)
		}
		l.delete(at, old)
	} else if len(l.rules) >= l.limits.MaxRules {
		return l.refuse(evt, kind, content, fmt.Sprintf("the list already holds its maximum of %d rules", l.limits.MaxRules), nil)
	}
	l.insert(at, e)
	c := Change{Added: ruleOf(e)}
	if old != nil {
		c.Removed = ruleOf(old)
	}
	return c
}

// applyRedaction withdraws the rule a redaction strips, if the redactor
// could have withdrawn it; a room moderator of one trust redacting another
// trust's ban is refused like any other unauthorised removal.
func (l *List) applyRedaction(evt Event) Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.byEventID[redactedID(evt.Content)]
	if !ok {
		return Change{}
	}
	old := l.rules[at]
	if why := l.auth.mayRemove(evt.Sender, &old.Rule); why != "" {
		return l.refuse(Event{Type: evt.Type, StateKey: at.stateKey, Sender: evt.Sender, EventID: evt.EventID}, old.Kind,
			ruleContent{Entity: old.Entity}, "redaction refused: "+why, old)
	}
	l.delete(at, old)
	return Change{Removed: ruleOf(old)}
}

// refuse records why evt was not applied. kept is the rule in force at the
// event's key, if any: it stays in force.
func (l *List) refuse(evt Event, kind Kind, c ruleContent, why string, kept *entry) Change {
	r := Refusal{
		Type: evt.Type, StateKey: clean(evt.StateKey, 255), Sender: evt.Sender, EventID: evt.EventID,
		Kind:           kind,
		Entity:         clean(c.Entity, 255),
		Recommendation: clean(c.Recommendation, 64),
		Reason:         why,
		Kept:           ruleOf(kept),
	}
	if !l.record(r) {
		return Change{}
	}
	return Change{Refused: &r}
}

// ruleOf copies an entry's rule, so callers never share the list's memory.
func ruleOf(e *entry) *Rule {
	if e == nil {
		return nil
	}
	r := e.Rule
	return &r
}
