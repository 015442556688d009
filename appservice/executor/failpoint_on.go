//go:build failpoint

package executor

import (
	"os"
	"syscall"
)

// failpointFromEnv stops the process, as abruptly as a power cut, at the
// step named by CALDICOTT_FAILPOINT: "planned:<first action's kind>",
// "performed:<i>:<kind>" (the homeserver was asked, the outcome not yet
// recorded), "completed:<i>:<kind>", or a step another package names with
// Executor.Failpoint ("sweep:…", "record:…"). Only crash tests build with
// the failpoint tag.
func failpointFromEnv() func(string) {
	at := os.Getenv("CALDICOTT_FAILPOINT")
	if at == "" {
		return nil
	}
	return func(step string) {
		if step == at {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // never carry on past the failpoint
		}
	}
}
