//go:build exp

package semantic

import (
	"context"

	"github.com/arbiterhq/arbiter/internal/embed"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// attendNet reads the two texts of a pair together, word by word, where the
// other models only compare one vector per text: each word of one text is
// softly aligned with the words of the other (attention over learned
// projections), the word and its aligned counterpart are compared, and the
// comparisons are pooled and classified. This is the decomposable attention
// model (Parikh et al., 2016) made symmetric in the pair. A word that finds no
// counterpart ("Python" against "Java", "sleep" against "eat") shows up as a
// comparison that the pooled features carry, which one vector per text blurs.
//
// Words enter as fixed vectors of D floats (wordVectors: the static table's
// vector of the word, projected to its principal components), plus two
// scalars per word: its best cosine with the other text's words and its
// rarity. Its logit is one input of the trees (stacked out of fold).
type attendNet struct {
	D  int      `json:"d"`  // word vector width
	H  int      `json:"h"`  // hidden width of every layer
	Wf floats32 `json:"wf"` // [H][D] projection for the alignment
	Bf floats32 `json:"bf"` // [H]
	Wg floats32 `json:"wg"` // [H][2D+2] comparison of a word with its aligned counterpart
	Bg floats32 `json:"bg"` // [H]
	Wh floats32 `json:"wh"` // [H][8H] over the pooled comparisons of both sides
	Bh floats32 `json:"bh"` // [H]
	Wo floats32 `json:"wo"` // [H]
	Bo float64  `json:"bo"`
}

// attendParams are attendNet's training settings (deterministic for a seed).
type attendParams struct {
	Hidden int     `json:"hidden"` // 0: no attention model
	Epochs int     `json:"epochs"`
	Batch  int     `json:"batch"`
	LR     float64 `json:"learning_rate"`
	L2     float64 `json:"l2"`
	Seed   uint64  `json:"seed"`
}

// wordSeq is one text as the attention model reads it: n words of D floats,
// and per word its rarity (a scalar in about [0, 1]).
type wordSeq struct {
	X      []float32 // [n][D]
	Rarity []float32 // [n]
}

// maxAttendWords caps the words of a text the attention model reads: the
// semantic cache compares prompts' last user turns, and past this the cost
// grows with no gain in what the pooled comparison can tell.
const maxAttendWords = 48

// attendState holds one side's forward values and the buffers of a pass.
type attendState struct {
	f     []float32 // [n][H] projections (post-ReLU)
	att   []float32 // [n][m] attention of each word over the other side
	al    []float32 // [n][D] aligned counterpart
	u     []float32 // [n][2D+2] comparison inputs
	c     []float32 // [n][H] comparisons (post-ReLU)
	pool  []float32 // [2H] mean then max of c
	arg   []int     // [H] which word gave the max
	dc    []float32 // [n][H]
	dal   []float32 // [n][D]
	df    []float32 // [n][H]
	datt  []float32 // [n][m]
	maxs  []float32 // [n] best cosine with the other side's words
	pre   []float32 // [H]
	du    []float32 // [2D+2]
	dpool []float32 // [2H]
}

func (st *attendState) size(n, m, d, h int) {
	in := 2*d + 2
	st.f = grow32(st.f, n*h)
	st.att = grow32(st.att, n*m)
	st.al = grow32(st.al, n*d)
	st.u = grow32(st.u, n*in)
	st.c = grow32(st.c, n*h)
	st.pool = grow32(st.pool, 2*h)
	if cap(st.arg) < h {
		st.arg = make([]int, h)
	}
	st.arg = st.arg[:h]
	st.dc = grow32(st.dc, n*h)
	st.dal = grow32(st.dal, n*d)
	st.df = grow32(st.df, n*h)
	st.datt = grow32(st.datt, n*m)
	st.maxs = grow32(st.maxs, n)
	st.pre = grow32(st.pre, h)
	st.du = grow32(st.du, in)
	st.dpool = grow32(st.dpool, 2*h)
}

func grow32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// attendPass is the scratch of one forward (and backward) pass.
type attendPass struct {
	a, b attendState
	z    []float32 // [8H]
	o    []float32 // [H]
}

// project writes relu(Wf x + bf) for each word of s into st.f.
func (m *attendNet) project(st *attendState, s wordSeq) {
	d, h := m.D, m.H
	for i := range s.Rarity {
		x := s.X[i*d : (i+1)*d]
		for k := 0; k < h; k++ {
			v := m.Bf[k] + dot(m.Wf[k*d:(k+1)*d], x)
			st.f[i*h+k] = max(v, 0)
		}
	}
}

// compare aligns each word of s with the words of o (through the projections
// in st.f and so.f), builds the comparison inputs and pools the comparisons.
func (m *attendNet) compare(st, so *attendState, s, o wordSeq) {
	d, h, in := m.D, m.H, 2*m.D+2
	n, mo := len(s.Rarity), len(o.Rarity)
	for i := 0; i < n; i++ {
		row := st.att[i*mo : (i+1)*mo]
		fi := st.f[i*h : (i+1)*h]
		mx := float32(math.Inf(-1))
		for j := 0; j < mo; j++ {
			row[j] = dot(fi, so.f[j*h:(j+1)*h])
			mx = max(mx, row[j])
		}
		var sum float32
		for j := range row {
			row[j] = float32(math.Exp(float64(row[j] - mx)))
			sum += row[j]
		}
		al := st.al[i*d : (i+1)*d]
		clear(al)
		xi := s.X[i*d : (i+1)*d]
		best := float32(-1)
		for j := range row {
			row[j] /= sum
			yj := o.X[j*d : (j+1)*d]
			axpy(al, row[j], yj)
			best = max(best, cosine32(xi, yj))
		}
		st.maxs[i] = best
		u := st.u[i*in : (i+1)*in]
		for k := 0; k < d; k++ {
			u[k] = float32(math.Abs(float64(xi[k] - al[k])))
			u[d+k] = xi[k] * al[k]
		}
		u[2*d] = best
		u[2*d+1] = s.Rarity[i]
		c := st.c[i*h : (i+1)*h]
		for k := 0; k < h; k++ {
			c[k] = max(m.Bg[k]+dot(m.Wg[k*in:(k+1)*in], u), 0)
		}
	}
	mean, mxp := st.pool[:h], st.pool[h:]
	clear(mean)
	for k := range mxp {
		mxp[k] = float32(math.Inf(-1))
		st.arg[k] = 0
	}
	for i := 0; i < n; i++ {
		c := st.c[i*h : (i+1)*h]
		for k, v := range c {
			mean[k] += v
			if v > mxp[k] {
				mxp[k], st.arg[k] = v, i
			}
		}
	}
	for k := range mean {
		mean[k] /= float32(n)
	}
}

// forward returns the logit for the pair (a, b); both must have words.
func (m *attendNet) forward(p *attendPass, a, b wordSeq) float64 {
	h := m.H
	na, nb := len(a.Rarity), len(b.Rarity)
	p.a.size(na, nb, m.D, h)
	p.b.size(nb, na, m.D, h)
	m.project(&p.a, a)
	m.project(&p.b, b)
	m.compare(&p.a, &p.b, a, b)
	m.compare(&p.b, &p.a, b, a)
	p.z = grow32(p.z, 8*h)
	p.o = grow32(p.o, h)
	for k := 0; k < 2*h; k++ {
		x, y := p.a.pool[k], p.b.pool[k]
		p.z[k] = x + y
		p.z[2*h+k] = float32(math.Abs(float64(x - y)))
		p.z[4*h+k] = x * y
		p.z[6*h+k] = max(x, y)
	}
	z := m.Bo
	for k := 0; k < h; k++ {
		v := max(m.Bh[k]+dot(m.Wh[k*8*h:(k+1)*8*h], p.z), 0)
		p.o[k] = v
		z += float64(m.Wo[k] * v)
	}
	return z
}

// score is the model's logit for the pair; 0 when either text has no words or
// there is no model.
func (m *attendNet) score(a, b wordSeq) float64 {
	if m == nil || m.H == 0 || len(a.Rarity) == 0 || len(b.Rarity) == 0 {
		return 0
	}
	p := attendPasses.Get().(*attendPass)
	defer attendPasses.Put(p)
	return m.forward(p, a, b)
}

var attendPasses = sync.Pool{New: func() any { return new(attendPass) }}

// attendGrad is a gradient in the shape of attendNet's parameters.
type attendGrad struct {
	wf, bf, wg, bg, wh, bh, wo []float32
	bo                         float64
}

func newAttendGrad(d, h int) *attendGrad {
	in := 2*d + 2
	return &attendGrad{wf: make([]float32, h*d), bf: make([]float32, h), wg: make([]float32, h*in),
		bg: make([]float32, h), wh: make([]float32, h*8*h), bh: make([]float32, h), wo: make([]float32, h)}
}

func (g *attendGrad) clear() {
	for _, s := range g.parts() {
		clear(s)
	}
	g.bo = 0
}

func (g *attendGrad) parts() [][]float32 {
	return [][]float32{g.wf, g.bf, g.wg, g.bg, g.wh, g.bh, g.wo}
}

// backward adds to g the gradient of the logistic loss for label y at the pair
// forward last ran on, and returns the loss.
func (m *attendNet) backward(p *attendPass, a, b wordSeq, logit float64, y bool, g *attendGrad) float64 {
	h := m.H
	pr := 1 / (1 + math.Exp(-logit))
	t := 0.0
	if y {
		t = 1
	}
	loss := -t*math.Log(max(pr, 1e-12)) - (1-t)*math.Log(max(1-pr, 1e-12))
	dl := float32(pr - t)
	g.bo += float64(dl)
	dz := grow32(nil, 8*h) // small; the pass is dominated by the word loops
	for k := 0; k < h; k++ {
		if p.o[k] <= 0 {
			continue
		}
		g.wo[k] += dl * p.o[k]
		dpre := dl * m.Wo[k]
		g.bh[k] += dpre
		axpy(g.wh[k*8*h:(k+1)*8*h], dpre, p.z)
		axpy(dz, dpre, m.Wh[k*8*h:(k+1)*8*h])
	}
	da, db := p.a.dpool[:2*h], p.b.dpool[:2*h]
	for k := 0; k < 2*h; k++ {
		x, y := p.a.pool[k], p.b.pool[k]
		ga := dz[k] + dz[4*h+k]*y
		gb := dz[k] + dz[4*h+k]*x
		if x > y {
			ga += dz[2*h+k] + dz[6*h+k]
			gb -= dz[2*h+k]
		} else {
			ga -= dz[2*h+k]
			gb += dz[2*h+k] + dz[6*h+k]
		}
		da[k], db[k] = ga, gb
	}
	na, nb := len(a.Rarity), len(b.Rarity)
	clear(p.a.dal[:na*m.D])
	clear(p.b.dal[:nb*m.D])
	clear(p.a.df[:na*h])
	clear(p.b.df[:nb*h])
	m.backCompare(&p.a, &p.b, a, b, g)
	m.backCompare(&p.b, &p.a, b, a, g)
	m.backProject(&p.a, a, g)
	m.backProject(&p.b, b, g)
	return loss
}

// backCompare propagates st.dpool through the comparisons and the alignment
// of s against o: into g, into st.df and so.df (the projections).
func (m *attendNet) backCompare(st, so *attendState, s, o wordSeq, g *attendGrad) {
	d, h, in := m.D, m.H, 2*m.D+2
	n, mo := len(s.Rarity), len(o.Rarity)
	dc := st.dc[:n*h]
	inv := 1 / float32(n)
	for i := 0; i < n; i++ {
		for k := 0; k < h; k++ {
			dc[i*h+k] = st.dpool[k] * inv
		}
	}
	for k := 0; k < h; k++ {
		dc[st.arg[k]*h+k] += st.dpool[h+k]
	}
	for i := 0; i < n; i++ {
		u := st.u[i*in : (i+1)*in]
		du := st.du[:in]
		clear(du)
		any := false
		for k := 0; k < h; k++ {
			if st.c[i*h+k] <= 0 || dc[i*h+k] == 0 {
				continue
			}
			dpre := dc[i*h+k]
			g.bg[k] += dpre
			axpy(g.wg[k*in:(k+1)*in], dpre, u)
			axpy(du, dpre, m.Wg[k*in:(k+1)*in])
			any = true
		}
		if !any {
			continue
		}
		// Only the aligned counterpart depends on the parameters (the word's
		// own vector and the two scalars are inputs).
		xi := s.X[i*d : (i+1)*d]
		al := st.al[i*d : (i+1)*d]
		dal := st.dal[i*d : (i+1)*d]
		for k := 0; k < d; k++ {
			sg := float32(1)
			if xi[k]-al[k] < 0 {
				sg = -1
			}
			dal[k] = -sg*du[k] + xi[k]*du[d+k]
		}
		// al = Σ_j att_ij y_j; att = softmax_j(e_ij); e_ij = f_i · f'_j.
		row := st.att[i*mo : (i+1)*mo]
		datt := st.datt[i*mo : (i+1)*mo]
		var s0 float32
		for j := 0; j < mo; j++ {
			datt[j] = dot(dal, o.X[j*d:(j+1)*d])
			s0 += row[j] * datt[j]
		}
		fi := st.f[i*h : (i+1)*h]
		dfi := st.df[i*h : (i+1)*h]
		for j := 0; j < mo; j++ {
			de := row[j] * (datt[j] - s0)
			if de == 0 {
				continue
			}
			axpy(dfi, de, so.f[j*h:(j+1)*h])
			axpy(so.df[j*h:(j+1)*h], de, fi)
		}
	}
}

// backProject propagates st.df through the projections into g.
func (m *attendNet) backProject(st *attendState, s wordSeq, g *attendGrad) {
	d, h := m.D, m.H
	for i := range s.Rarity {
		x := s.X[i*d : (i+1)*d]
		for k := 0; k < h; k++ {
			if st.f[i*h+k] <= 0 {
				continue
			}
			dpre := st.df[i*h+k]
			if dpre == 0 {
				continue
			}
			g.bf[k] += dpre
			axpy(g.wf[k*d:(k+1)*d], dpre, x)
		}
	}
}

func (m *attendNet) parts() [][]float32 {
	return [][]float32{m.Wf, m.Bf, m.Wg, m.Bg, m.Wh, m.Bh, m.Wo}
}

// trainAttend fits an attendNet on pairs (a[i], b[i]) with labels y by
// minibatch Adam on the logistic loss with L2. Each batch is split into a
// fixed number of shards whose gradients are summed in order, so the same data
// and seed give the same network on any machine.
func trainAttend(a, b []wordSeq, y []bool, d int, p attendParams) *attendNet {
	h := p.Hidden
	in := 2*d + 2
	rng := rand.New(rand.NewPCG(p.Seed, 0x2545f4914f6cdd1d))
	m := &attendNet{D: d, H: h, Wf: make(floats32, h*d), Bf: make(floats32, h), Wg: make(floats32, h*in),
		Bg: make(floats32, h), Wh: make(floats32, h*8*h), Bh: make(floats32, h), Wo: make(floats32, h)}
	initW := func(w []float32, fanIn int) {
		s := math.Sqrt(2 / float64(fanIn))
		for i := range w {
			w[i] = float32(rng.NormFloat64() * s)
		}
	}
	initW(m.Wf, d)
	initW(m.Wg, in)
	initW(m.Wh, 8*h)
	initW(m.Wo, h)
	for i := range m.Bf {
		m.Bf[i] = 0.01 // keep the projections alive at the start
	}

	var idx []int
	for i := range y {
		if len(a[i].Rarity) > 0 && len(b[i].Rarity) > 0 {
			idx = append(idx, i)
		}
	}
	// A fixed number of shards per batch (not per core), so the sum of their
	// gradients, and so the network, does not depend on the machine.
	const shards = 4
	grads := make([]*attendGrad, shards)
	passes := make([]*attendPass, shards)
	for k := range grads {
		grads[k] = newAttendGrad(d, h)
		passes[k] = new(attendPass)
	}
	total := newAttendGrad(d, h)
	params := m.parts()
	mom := make([][]float32, len(params))
	vel := make([][]float32, len(params))
	for i, s := range params {
		mom[i] = make([]float32, len(s))
		vel[i] = make([]float32, len(s))
	}
	var mBo, vBo float64
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	step := 0
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for ep := 0; ep < p.Epochs; ep++ {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for at := 0; at < len(idx); at += p.Batch {
			batch := idx[at:min(at+p.Batch, len(idx))]
			var wg sync.WaitGroup
			for k := 0; k < shards; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					g, ps := grads[k], passes[k]
					g.clear()
					for t := k; t < len(batch); t += shards {
						i := batch[t]
						logit := m.forward(ps, a[i], b[i])
						m.backward(ps, a[i], b[i], logit, y[i], g)
					}
				}()
			}
			wg.Wait()
			total.clear()
			tp := total.parts()
			for _, g := range grads {
				for pi, s := range g.parts() {
					axpy(tp[pi], 1, s)
				}
				total.bo += g.bo
			}
			step++
			scale := 1 / float64(len(batch))
			c1 := 1 - math.Pow(beta1, float64(step))
			c2 := 1 - math.Pow(beta2, float64(step))
			for pi, w := range params {
				gs, mo, ve := tp[pi], mom[pi], vel[pi]
				for j := range w {
					gj := float64(gs[j])*scale + p.L2*float64(w[j])
					mo[j] = float32(beta1*float64(mo[j]) + (1-beta1)*gj)
					ve[j] = float32(beta2*float64(ve[j]) + (1-beta2)*gj*gj)
					w[j] -= float32(p.LR * (float64(mo[j]) / c1) / (math.Sqrt(float64(ve[j])/c2) + eps))
				}
			}
			gb := total.bo * scale
			mBo = beta1*mBo + (1-beta1)*gb
			vBo = beta2*vBo + (1-beta2)*gb*gb
			m.Bo -= p.LR * (mBo / c1) / (math.Sqrt(vBo/c2) + eps)
		}
	}
	return m
}

func axpy(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += a * x[i]
	}
}

func cosine32(a, b []float32) float32 {
	ab, aa, bb := dot(a, b), dot(a, a), dot(b, b)
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / float32(math.Sqrt(float64(aa)*float64(bb)))
}

// wordVectors turns a text's words into the attention model's inputs: each
// word's static-table vector (the distilled USE piece vectors, weighted and
// summed), projected onto Proj's D principal directions, with its rarity from
// the tokenizer's unigram log-probabilities.
type wordVectors struct {
	static *embed.StaticEmbedder
	proj   []float32 // [D][embed.Dim]
	d      int
	cache  sync.Map // word → wordVec; words repeat, and a lookup is cheaper than a projection
}

type wordVec struct {
	x      []float32
	rarity float32
}

func (w *wordVectors) word(word string) wordVec {
	if v, ok := w.cache.Load(word); ok {
		return v.(wordVec)
	}
	vs, _ := w.static.Embed(context.Background(), []string{word})
	x := make([]float32, w.d)
	for k := range x {
		x[k] = dot(w.proj[k*embed.Dim:(k+1)*embed.Dim], vs[0]) * projScale
	}
	tok := w.static.Tokenizer()
	var lp float64
	for _, id := range tok.Encode(nil, word) {
		lp += tok.Piece(id).Score
	}
	wv := wordVec{x: x, rarity: float32(min(1.5, -lp/25))}
	w.cache.Store(word, wv)
	return wv
}

// projScale brings the projected unit vectors to about unit spread per
// coordinate, where the networks' initial weights expect their inputs.
const projScale = 8

// seq is text's words (from its analysis) as the attention model reads them.
func (w *wordVectors) seq(an *analysis) wordSeq {
	words := an.words
	if len(words) > maxAttendWords {
		words = words[:maxAttendWords]
	}
	s := wordSeq{X: make([]float32, 0, len(words)*w.d), Rarity: make([]float32, 0, len(words))}
	for _, word := range words {
		v := w.word(word)
		s.X = append(s.X, v.x...)
		s.Rarity = append(s.Rarity, v.rarity)
	}
	return s
}

// principalDirections returns the top d principal directions of rows (each
// embed.Dim wide) as a [d][embed.Dim] matrix, by subspace iteration from a
// seeded start: deterministic for the same rows.
func principalDirections(rows [][]float32, d int, seed uint64) []float32 {
	const n = embed.Dim
	mean := make([]float64, n)
	for _, r := range rows {
		for k, v := range r {
			mean[k] += float64(v)
		}
	}
	for k := range mean {
		mean[k] /= float64(len(rows))
	}
	cov := make([]float64, n*n)
	c := make([]float64, n)
	for _, r := range rows {
		for k, v := range r {
			c[k] = float64(v) - mean[k]
		}
		for i := 0; i < n; i++ {
			if c[i] == 0 {
				continue
			}
			row := cov[i*n : (i+1)*n]
			for j := i; j < n; j++ {
				row[j] += c[i] * c[j]
			}
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			cov[i*n+j] = cov[j*n+i]
		}
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	q := make([]float64, d*n)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	z := make([]float64, d*n)
	for it := 0; it < 60; it++ {
		orthonormalize(q, d, n)
		for a := 0; a < d; a++ {
			qa := q[a*n : (a+1)*n]
			za := z[a*n : (a+1)*n]
			for i := 0; i < n; i++ {
				var s float64
				row := cov[i*n : (i+1)*n]
				for j, v := range qa {
					s += row[j] * v
				}
				za[i] = s
			}
		}
		q, z = z, q
	}
	orthonormalize(q, d, n)
	out := make([]float32, d*n)
	for i, v := range q {
		out[i] = float32(v)
	}
	return out
}

// orthonormalize applies Gram-Schmidt to the d rows of q (each n wide).
func orthonormalize(q []float64, d, n int) {
	for a := 0; a < d; a++ {
		qa := q[a*n : (a+1)*n]
		for b := 0; b < a; b++ {
			qb := q[b*n : (b+1)*n]
			var s float64
			for k := range qa {
				s += qa[k] * qb[k]
			}
			for k := range qa {
				qa[k] -= s * qb[k]
			}
		}
		var s float64
		for _, v := range qa {
			s += v * v
		}
		s = 1 / math.Sqrt(s)
		for k := range qa {
			qa[k] *= s
		}
	}
}
