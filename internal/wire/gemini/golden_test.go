package gemini

import (
	"github.com/arbiterhq/arbiter/internal/wire/wiretest"
)

// The golden-file helpers every codec's tests share (internal/wire/wiretest).
var (
	golden       = wiretest.Golden
	readTestdata = wiretest.ReadTestdata
	indent       = wiretest.Indent
	sameJSON     = wiretest.SameJSON
	trace        = wiretest.Trace
)
