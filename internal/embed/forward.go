package embed

import (
	"context"
	"fmt"
	"math"
)

// chunkTokens bounds the tokens run through the network at once, so a large
// batch keeps its buffers (and cache footprint) small.
const chunkTokens = 512

// workspace holds every buffer one forward pass needs. Pooled by USE, grown on
// demand and then reused, so steady-state embedding allocates only its result.
type workspace struct {
	ids    []int32 // token ids of the chunk, texts concatenated
	starts []int   // starts[i] is the first row of text i; len = texts+1
	team   *team   // helpers sharing this pass's matrix products; nil: none

	x      []float32 // [T][256] layer-0 input
	y      []float32 // [T][512] residual stream
	h      []float32 // [T][512] layer-normed input of a block
	qkv    []float32 // [T][3*512]
	att    []float32 // [T][512] attention output before its projection
	ff     []float32 // [T][1536]
	q      []float32 // [dh] one scaled query
	scores []float32 // [maxLen] one attention row
	pooled []float32 // [texts][512]
	hidden []float32 // [texts][512]
}

// Embed returns one unit vector per text. Texts longer than MaxTokens pieces
// are embedded from their first MaxTokens pieces (as the TF.js graph does).
func (m *USE) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return m.embed(ctx, len(texts), func(dst []int32, i int) []int32 { return m.tok.Encode(dst, texts[i]) }, nil)
}

// EmbedStates is Embed that also returns each text's per-piece outputs of the
// last transformer layer (before pooling): states[i] holds Dim floats per piece
// of text i, in order. A verifier that compares texts piece by piece reads them.
func (m *USE) EmbedStates(ctx context.Context, texts []string) (vecs, states [][]float32, err error) {
	states = make([][]float32, len(texts))
	vecs, err = m.embed(ctx, len(texts), func(dst []int32, i int) []int32 { return m.tok.Encode(dst, texts[i]) },
		func(i int, rows []float32) { states[i] = append([]float32(nil), rows...) })
	return vecs, states, err
}

// EmbedTokens is Embed for texts already tokenized by m.Tokenizer().
func (m *USE) EmbedTokens(ctx context.Context, ids [][]int32) ([][]float32, error) {
	return m.embed(ctx, len(ids), func(dst []int32, i int) []int32 { return append(dst, ids[i]...) }, nil)
}

// embed runs count texts through the network in chunks; appendIDs appends the
// piece ids of text i; states, when not nil, receives each text's per-piece
// outputs (valid only during the call).
func (m *USE) embed(ctx context.Context, count int, appendIDs func(dst []int32, i int) []int32, states func(i int, rows []float32)) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	out := make([][]float32, count)
	flat := make([]float32, count*Dim)
	ws := m.work.Get().(*workspace)
	defer m.work.Put(ws)

	for first := 0; first < count; {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		// Tokenize texts into this chunk until it is full (at least one text).
		ws.ids = ws.ids[:0]
		ws.starts = append(ws.starts[:0], 0)
		last := first
		for last < count {
			before := len(ws.ids)
			ws.ids = appendIDs(ws.ids, last)
			if len(ws.ids)-before > m.maxLen {
				ws.ids = ws.ids[:before+m.maxLen]
			}
			for _, id := range ws.ids[before:] {
				if id < 0 || int(id)*256 >= len(m.embeddings) {
					return nil, fmt.Errorf("embed: token id %d out of range", id)
				}
			}
			if last > first && len(ws.ids) > chunkTokens {
				ws.ids = ws.ids[:before]
				break
			}
			ws.starts = append(ws.starts, len(ws.ids))
			last++
		}
		// A lone text is a request waiting on its lookup: share its matrix
		// products among cores to cut its latency. A batch is bulk work whose
		// callers already run batches side by side.
		ws.team = nil
		if last-first == 1 {
			ws.team = startTeam(m.intraOp - 1)
		}
		m.forward(ws)
		ws.team.stop()
		for i := first; i < last; i++ {
			v := flat[i*Dim : (i+1)*Dim : (i+1)*Dim]
			copy(v, ws.hidden[(i-first)*Dim:])
			out[i] = v
			if states != nil {
				states(i, ws.y[ws.starts[i-first]*Dim:ws.starts[i-first+1]*Dim])
			}
		}
		first = last
	}
	return out, nil
}

// forward runs the network over ws.ids (texts delimited by ws.starts) and leaves
// the normalised sentence vectors in ws.hidden.
func (m *USE) forward(ws *workspace) {
	const d0, d1 = 256, 512
	T := len(ws.ids)
	B := len(ws.starts) - 1
	ws.x = grow(ws.x, T*d0)
	ws.y = grow(ws.y, T*d1)
	ws.h = grow(ws.h, T*d1)
	ws.qkv = grow(ws.qkv, T*3*d1)
	ws.att = grow(ws.att, T*d1)
	ws.ff = grow(ws.ff, T*ffnWidth)
	ws.q = grow(ws.q, d1)
	ws.scores = grow(ws.scores, m.maxLen)
	ws.pooled = grow(ws.pooled, B*d1)
	ws.hidden = grow(ws.hidden, B*d1)

	// Input: the graph adds the embedding to (embedding + timing signal), so the
	// embedding counts twice (Layer_0/add of Scatter and AddTimingSignal/Scatter).
	for b := 0; b < B; b++ {
		for r := ws.starts[b]; r < ws.starts[b+1]; r++ {
			e := m.embeddings[int(ws.ids[r])*d0 : int(ws.ids[r])*d0+d0]
			t := m.timing[(r-ws.starts[b])*d0 : (r-ws.starts[b])*d0+d0]
			x := ws.x[r*d0 : r*d0+d0]
			for i := range x {
				x[i] = e[i] + (e[i] + t[i])
			}
		}
	}

	m.layerForward(ws, &m.layers[0], ws.x)
	m.layerForward(ws, &m.layers[1], ws.y)

	// Mean over each text's tokens (an empty text pools to zeros, dividing by
	// max(len, 1) as the graph does), dense + tanh, then L2 normalisation.
	clear(ws.pooled)
	for b := 0; b < B; b++ {
		p := ws.pooled[b*d1 : (b+1)*d1]
		for r := ws.starts[b]; r < ws.starts[b+1]; r++ {
			addTo(p, ws.y[r*d1:(r+1)*d1])
		}
		n := float32(max(ws.starts[b+1]-ws.starts[b], 1))
		for i := range p {
			p[i] /= n
		}
	}
	fillRows(ws.hidden, m.tanhBias, B)
	ws.team.gemm(ws.hidden, ws.pooled, B, m.tanh)
	for b := 0; b < B; b++ {
		v := ws.hidden[b*d1 : (b+1)*d1]
		var ss float32
		for i, x := range v {
			t := float32(math.Tanh(float64(x)))
			v[i] = t
			ss += t * t
		}
		inv := float32(1 / math.Sqrt(float64(max(ss, m.l2Eps))))
		for i := range v {
			v[i] *= inv
		}
	}
}

// layerForward runs one pre-norm transformer layer: ws.y = in (or its dense
// projection when the width changes) + attention(LN(in)), then
// ws.y += FFN(LN(ws.y)). in is ws.x for layer 0 and ws.y for layer 1.
func (m *USE) layerForward(ws *workspace, l *layer, in []float32) {
	T := len(ws.ids)
	y := ws.y[:T*l.d]
	if l.resid.p != nil {
		fillRows(y, l.residBias, T)
		ws.team.gemm(y, in, T, l.resid)
	} // else in is ws.y already: the residual is the stream itself.

	h := ws.h[:T*l.dIn]
	layerNorm(h, in[:T*l.dIn], l.lnAttnScale, l.lnAttnBias, l.dIn, m.lnEps)
	qkv := ws.qkv[:T*3*l.dIn]
	fillRows(qkv, l.qkvBias, T)
	ws.team.gemm(qkv, h, T, l.qkv)
	att := ws.att[:T*l.dIn]
	for b := 0; b+1 < len(ws.starts); b++ {
		m.attention(ws, l, att, qkv, ws.starts[b], ws.starts[b+1])
	}
	addBiasRows(y, l.outBias, T)
	ws.team.gemm(y, att, T, l.out)

	h = ws.h[:T*l.d]
	layerNorm(h, y, l.lnFFNScale, l.lnFFNBias, l.d, m.lnEps)
	ff := ws.ff[:T*ffnWidth]
	fillRows(ff, l.ff1Bias, T)
	ws.team.gemm(ff, h, T, l.ff1)
	for i, v := range ff {
		if v < 0 {
			ff[i] = 0
		}
	}
	addBiasRows(y, l.ff2Bias, T)
	ws.team.gemm(y, ff, T, l.ff2)
}

// attention writes softmax(q·kᵀ)·v for the rows [lo, hi) of one text, head by
// head. Texts attend only to themselves, which is what the graph's padding bias
// (-1e9 on padded keys) amounts to.
func (m *USE) attention(ws *workspace, l *layer, att, qkv []float32, lo, hi int) {
	stride := 3 * l.dIn
	q := ws.q[:l.dh]
	scores := ws.scores[:hi-lo]
	for hd := 0; hd < l.heads; hd++ {
		qo, ko, vo := hd*l.dh, l.dIn+hd*l.dh, 2*l.dIn+hd*l.dh
		for i := lo; i < hi; i++ {
			for c, v := range qkv[i*stride+qo : i*stride+qo+l.dh] {
				q[c] = v * l.scale
			}
			mx := float32(math.Inf(-1))
			for j := lo; j < hi; j++ {
				s := dotVec(q, qkv[j*stride+ko:j*stride+ko+l.dh])
				scores[j-lo] = s
				mx = max(mx, s)
			}
			var sum float32
			for j := range scores {
				e := float32(math.Exp(float64(scores[j] - mx)))
				scores[j] = e
				sum += e
			}
			o := att[i*l.dIn+qo : i*l.dIn+qo+l.dh]
			clear(o)
			for j := lo; j < hi; j++ {
				axpyVec(o, scores[j-lo]/sum, qkv[j*stride+vo:j*stride+vo+l.dh])
			}
		}
	}
}

// layerNorm normalises each row of x (width d) to zero mean and unit variance,
// then scales and shifts: (x-mean)·(scale·rsqrt(var+eps)) + bias, as the graph does.
func layerNorm(dst, x, scale, bias []float32, d int, eps float32) {
	for r := 0; r < len(x)/d; r++ {
		row, out := x[r*d:(r+1)*d], dst[r*d:(r+1)*d]
		var s float32
		for _, v := range row {
			s += v
		}
		mean := s / float32(d)
		var ss float32
		for _, v := range row {
			c := v - mean
			ss += c * c
		}
		rs := float32(1 / math.Sqrt(float64(ss/float32(d)+eps)))
		for i, v := range row {
			out[i] = scale[i]*rs*(v-mean) + bias[i]
		}
	}
}

// fillRows sets each of the rows of dst to bias.
func fillRows(dst, bias []float32, rows int) {
	n := len(bias)
	for r := 0; r < rows; r++ {
		copy(dst[r*n:(r+1)*n], bias)
	}
}

// addBiasRows adds bias to each of the rows of dst.
func addBiasRows(dst, bias []float32, rows int) {
	n := len(bias)
	for r := 0; r < rows; r++ {
		addTo(dst[r*n:(r+1)*n], bias)
	}
}

func addTo(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

func axpy(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += a * x[i]
	}
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
