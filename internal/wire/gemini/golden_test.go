package gemini

import (
	"os"
	"path/filepath"
	"testing"

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

func readSeed(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}
