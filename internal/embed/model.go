package embed

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// Weight names in the TF.js graph (model.json). The graph was read op by op; see
// forward.go for what each one does.
const (
	encPrefix   = "module_apply_default/Encoder_en/KonaTransformer/Encode/"
	stackPrefix = encPrefix + "TransformerStack/"
	varPrefix   = "module/Encoder_en/KonaTransformer/Encode/"

	wEmbeddings    = "module/Embeddings_en"
	wInvTimescales = stackPrefix + "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1"
	wLayerNormEps  = stackPrefix + "Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x"
	wMaxLength     = "module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y"
	wTanhKernel    = "module/Encoder_en/hidden_layers/tanh_layer_0/weights"
	wTanhBias      = "module/Encoder_en/hidden_layers/tanh_layer_0/bias"
	wL2Eps         = "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y"
)

// ffnWidth is the inner width of both feed-forward blocks.
const ffnWidth = 1536

// layer holds one transformer layer's weights. Matrices are [in][out], as the
// graph's MatMul and 1x1 Conv2D kernels store them, packed for gemmAcc.
type layer struct {
	dIn, d    int // input width, output (model) width
	heads, dh int // attention heads and width per head; heads*dh == dIn
	scale     float32

	lnAttnScale, lnAttnBias []float32 // [dIn]
	qkv                     matrix    // [dIn][3*dIn], q|k|v
	qkvBias                 []float32 // [3*dIn]
	out                     matrix    // [dIn][d]
	outBias                 []float32 // [d]
	resid                   matrix    // [dIn][d]; only when dIn != d (AdjustResidualInput)
	residBias               []float32 // [d]
	lnFFNScale, lnFFNBias   []float32 // [d]
	ff1                     matrix    // [d][ffnWidth]
	ff1Bias                 []float32 // [ffnWidth]
	ff2                     matrix    // [ffnWidth][d]
	ff2Bias                 []float32 // [d]
}

// USE is Universal Sentence Encoder lite, loaded once and shared: every field is
// read-only after LoadUSE, and per-call buffers come from a pool, so Embed is
// safe for concurrent use.
type USE struct {
	tok *Tokenizer

	embeddings []float32 // [vocab][256]
	timing     []float32 // [maxLen][256]: sin | cos of position × inverse timescales
	layers     [2]layer
	tanh       matrix // [512][512]
	tanhBias   []float32
	lnEps      float32
	l2Eps      float32
	maxLen     int
	intraOp    int // goroutines a single text's matrix products are shared among

	work sync.Pool // *workspace
}

// Dim is the vector width, 512.
func (m *USE) Dim() int { return Dim }

// Tokenizer returns the model's tokenizer.
func (m *USE) Tokenizer() *Tokenizer { return m.tok }

type modelJSON struct {
	WeightsManifest []struct {
		Paths   []string `json:"paths"`
		Weights []struct {
			Name         string          `json:"name"`
			Shape        []int           `json:"shape"`
			Dtype        string          `json:"dtype"`
			Quantization json.RawMessage `json:"quantization"`
		} `json:"weights"`
	} `json:"weightsManifest"`
}

type tensor struct {
	shape []int
	f32   []float32
	i32   []int32
}

// LoadUSE reads model.json, its weight shards and vocab.json from dir (as
// written by scripts/fetch-model.sh).
func LoadUSE(dir string) (*USE, error) {
	ts, err := readWeights(dir)
	if err != nil {
		return nil, err
	}
	vocabData, err := os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err != nil {
		return nil, fmt.Errorf("embed: reading USE vocabulary: %w", err)
	}
	pieces, err := ParseVocabJSON(vocabData)
	if err != nil {
		return nil, err
	}
	tok, err := NewTokenizer(pieces)
	if err != nil {
		return nil, err
	}
	m, err := newUSE(ts, tok)
	if err != nil {
		return nil, fmt.Errorf("embed: loading USE from %s: %w", dir, err)
	}
	return m, nil
}

func readWeights(dir string) (map[string]tensor, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, fmt.Errorf("embed: reading USE model (run scripts/fetch-model.sh): %w", err)
	}
	var mj modelJSON
	if err := json.Unmarshal(raw, &mj); err != nil {
		return nil, fmt.Errorf("embed: parsing %s/model.json: %w", dir, err)
	}
	ts := map[string]tensor{}
	for _, group := range mj.WeightsManifest {
		data, err := readShards(dir, group.Paths)
		if err != nil {
			return nil, err
		}
		off := 0
		for _, w := range group.Weights {
			if len(w.Quantization) > 0 && string(w.Quantization) != "null" {
				return nil, fmt.Errorf("embed: weight %s is quantized; only float32 weights are supported", w.Name)
			}
			n := 1
			for _, s := range w.Shape {
				n *= s
			}
			if off+4*n > len(data) {
				return nil, fmt.Errorf("embed: weight shards end inside %s", w.Name)
			}
			t := tensor{shape: w.Shape}
			switch w.Dtype {
			case "float32":
				t.f32 = make([]float32, n)
				for i := range t.f32 {
					t.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
				}
			case "int32":
				t.i32 = make([]int32, n)
				for i := range t.i32 {
					t.i32[i] = int32(binary.LittleEndian.Uint32(data[off+4*i:]))
				}
			default:
				return nil, fmt.Errorf("embed: weight %s has dtype %s", w.Name, w.Dtype)
			}
			ts[w.Name] = t
			off += 4 * n
		}
		if off != len(data) {
			return nil, fmt.Errorf("embed: weight shards hold %d bytes, manifest describes %d", len(data), off)
		}
	}
	return ts, nil
}

// readShards concatenates the weight shard files, sized up front (28 MB).
func readShards(dir string, paths []string) ([]byte, error) {
	total := int64(0)
	for _, p := range paths {
		fi, err := os.Stat(filepath.Join(dir, filepath.Base(p)))
		if err != nil {
			return nil, fmt.Errorf("embed: reading weight shard: %w", err)
		}
		total += fi.Size()
	}
	data := make([]byte, 0, total)
	for _, p := range paths {
		f, err := os.Open(filepath.Join(dir, filepath.Base(p)))
		if err != nil {
			return nil, fmt.Errorf("embed: reading weight shard: %w", err)
		}
		n, err := io.ReadFull(f, data[len(data):cap(data)])
		f.Close()
		data = data[:len(data)+n]
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("embed: reading weight shard %s: %w", p, err)
		}
	}
	return data, nil
}

// weights looks tensors up by name and checks their shapes, collecting the
// first error so construction reads as a list.
type weights struct {
	ts  map[string]tensor
	err error
}

func (w *weights) f32(name string, shape ...int) []float32 {
	t, ok := w.ts[name]
	if !ok || t.f32 == nil {
		w.fail(fmt.Errorf("missing float32 weight %s", name))
		return nil
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	if len(t.f32) != n {
		w.fail(fmt.Errorf("weight %s has shape %v, want %v", name, t.shape, shape))
		return nil
	}
	return t.f32
}

// mat looks up a matrix stored as [...1][k][n] and packs it for gemmAcc.
func (w *weights) mat(name string, shape ...int) matrix {
	v := w.f32(name, shape...)
	if v == nil {
		return matrix{}
	}
	k, n := shape[len(shape)-2], shape[len(shape)-1]
	m, err := packMatrix(v, k, n)
	if err != nil {
		w.fail(fmt.Errorf("weight %s: %w", name, err))
	}
	return m
}

func (w *weights) scalarF32(name string) float32 {
	if v := w.f32(name); len(v) == 1 {
		return v[0]
	}
	return 0
}

func (w *weights) scalarI32(name string) int {
	t, ok := w.ts[name]
	if !ok || len(t.i32) != 1 {
		w.fail(fmt.Errorf("missing int32 scalar %s", name))
		return 0
	}
	return int(t.i32[0])
}

func (w *weights) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func newUSE(ts map[string]tensor, tok *Tokenizer) (*USE, error) {
	w := &weights{ts: ts}
	const d0, d1 = 256, 512
	m := &USE{tok: tok}
	vocab := 0
	if t, ok := ts[wEmbeddings]; ok && len(t.shape) == 2 {
		vocab = t.shape[0]
	}
	if vocab < tok.Len() {
		return nil, fmt.Errorf("embedding table has %d rows for %d pieces", vocab, tok.Len())
	}
	m.embeddings = w.f32(wEmbeddings, vocab, d0)
	m.maxLen = w.scalarI32(wMaxLength)
	m.lnEps = w.scalarF32(wLayerNormEps)
	m.l2Eps = w.scalarF32(wL2Eps)
	m.tanh = w.mat(wTanhKernel, d1, d1)
	m.tanhBias = w.f32(wTanhBias, d1)
	inv := w.f32(wInvTimescales, 1, d0/2)
	m.layers[0] = loadLayer(w, 0, d0, d1)
	m.layers[1] = loadLayer(w, 1, d1, d1)
	if w.err != nil {
		return nil, w.err
	}
	if m.maxLen <= 0 || m.maxLen > 4096 {
		return nil, fmt.Errorf("implausible max length %d", m.maxLen)
	}
	// The timing signal as the graph computes it, in float32: position × inverse
	// timescale, then sin for the first half and cos for the second.
	m.timing = make([]float32, m.maxLen*d0)
	for p := 0; p < m.maxLen; p++ {
		row := m.timing[p*d0 : (p+1)*d0]
		for i, f := range inv {
			a := float64(float32(p) * f)
			row[i] = float32(math.Sin(a))
			row[d0/2+i] = float32(math.Cos(a))
		}
	}
	// Two or more cores cut a lone text's latency nearly in proportion; past
	// four the products are too small to share well.
	m.intraOp = min(runtime.GOMAXPROCS(0), 4)
	m.work.New = func() any { return new(workspace) }
	return m, nil
}

func loadLayer(w *weights, i, dIn, d int) layer {
	l := fmt.Sprintf("Layer_%d/TransformerLayer/", i)
	ln := func(part, which string) string {
		return encPrefix + l + part + "layer_prepostprocess/layer_norm/layer_norm_" + which + "/ConcatPartitions/concat"
	}
	bias := func(name string) string { return encPrefix + l + name + "/bias/ConcatPartitions/concat" }
	dh := w.scalarI32(stackPrefix + l + "MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3")
	ly := layer{
		dIn: dIn, d: d, dh: dh,
		scale:       w.scalarF32(stackPrefix + l + "MultiheadAttention/mul/y"),
		lnAttnScale: w.f32(ln("", "scale"), dIn),
		lnAttnBias:  w.f32(ln("", "bias"), dIn),
		qkv:         w.mat(varPrefix+l+"MultiheadAttention/qkv_transform_single/kernel/part_0", 1, 1, dIn, 3*dIn),
		qkvBias:     w.f32(bias("MultiheadAttention/qkv_transform_single"), 3*dIn),
		out:         w.mat(varPrefix+l+"MultiheadAttention/output_transform_single/kernel/part_0", 1, 1, dIn, d),
		outBias:     w.f32(bias("MultiheadAttention/output_transform_single"), d),
		lnFFNScale:  w.f32(ln("FFN/", "scale"), d),
		lnFFNBias:   w.f32(ln("FFN/", "bias"), d),
		ff1:         w.mat(stackPrefix+l+"FFN/conv1/Tensordot/Reshape_1", d, ffnWidth),
		ff1Bias:     w.f32(bias("FFN/conv1"), ffnWidth),
		ff2:         w.mat(stackPrefix+l+"FFN/conv2/Tensordot/Reshape_1", ffnWidth, d),
		ff2Bias:     w.f32(bias("FFN/conv2"), d),
	}
	if dIn != d {
		ly.resid = w.mat(encPrefix+l+"dense/kernel/ConcatPartitions/concat", dIn, d)
		ly.residBias = w.f32(encPrefix+l+"dense/bias/ConcatPartitions/concat", d)
	}
	if dh > 0 && dIn%dh == 0 {
		ly.heads = dIn / dh
	} else {
		w.fail(fmt.Errorf("layer %d: head width %d does not divide %d", i, dh, dIn))
	}
	return ly
}
