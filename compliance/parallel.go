package compliance

import (
	"errors"
	"sync"
)

// all runs independent reads side by side and waits for every one: a view
// reads a dozen tables that do not depend on one another, and the
// database answers several at once. The error joins every read's failure.
func all(reads ...func() error) error {
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Go(func() { errs[i] = read() })
	}
	wg.Wait()
	return errors.Join(errs...)
}
