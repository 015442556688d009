package appservice

import "context"

// HoldCatchUp makes every Caldicott started from now on wait, once it
// enforces, before its start-up catch-up until release is called.
func HoldCatchUp() (release func()) {
	held := make(chan struct{})
	holdCatchUp = func(ctx context.Context) {
		select {
		case <-held:
		case <-ctx.Done():
		}
	}
	return func() {
		close(held)
		holdCatchUp = nil
	}
}
