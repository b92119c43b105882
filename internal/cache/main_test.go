package cache

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: coalesced calls,
// subscriptions and Redis clients must all be wound down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
