package embed

import "errors"

// StaticEmbedder is the distilled per-piece embedder (work in progress).
type StaticEmbedder struct{ Embedder }

// Static returns the embedded static embedder.
func Static() (*StaticEmbedder, error) { return nil, errors.New("embed: static table not built yet") }
