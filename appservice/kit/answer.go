package kit

import "context"

type answerKey struct{}

// WithAnswer runs a command for the admin surface: its replies go to
// answer, for the HTTP caller who asked, not into the room, where there is
// no message of theirs to reply to. What the command does in the room
// (a notice, an action) is done as ever.
func WithAnswer(ctx context.Context, answer func(text string)) context.Context {
	return context.WithValue(ctx, answerKey{}, answer)
}

// answerOf is the answer set by WithAnswer, or nil.
func answerOf(ctx context.Context) func(string) {
	a, _ := ctx.Value(answerKey{}).(func(string))
	return a
}
