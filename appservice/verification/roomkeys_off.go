//go:build !goolm

package verification

import "context"

// DiscardSpentKeys does nothing in a build without encryption: there is
// no device, so no room keys.
func (s *Verification) DiscardSpentKeys(context.Context) {}
