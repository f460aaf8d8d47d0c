package finetune

import (
	"fmt"
	"math/rand"

	"gorgonia.org/tensor"

	"github.com/xferml/xfer/model"
)

// Predict runs m in inference mode on x (batch first) through the same
// gorgonia lowering training uses, and returns the model's output. It exists
// to check the lowering against the engine; the engine is faster.
func Predict(m *model.Model, x *model.Tensor) (*model.Tensor, error) {
	return predict(m, x, buildOpts{})
}

// PredictMC is Monte Carlo dropout (Gal and Ghahramani 2016; Géron's
// chapter 11): the mean of samples predictions with the Dropout and other
// noise layers active, drawn from seed, and BatchNormalization in inference
// mode, as Géron's MCDropout layer (Dropout called with training=True)
// does. It runs on the training lowering.
func PredictMC(m *model.Model, x *model.Tensor, samples int, seed int64) (*model.Tensor, error) {
	if samples < 1 {
		return nil, fmt.Errorf("finetune: predict: %d Monte Carlo samples; want at least 1", samples)
	}
	hasNoise := false
	for _, l := range m.Layers {
		hasNoise = hasNoise || noiseLayers[l.Kind]
	}
	if !hasNoise {
		return nil, mismatchf("model %q has no Dropout (or other noise) layer: Monte Carlo samples would all be equal", m.Name)
	}
	opts := buildOpts{training: true, bnMode: "inference", rng: rand.New(rand.NewSource(seed))}
	var mean *model.Tensor
	for s := 0; s < samples; s++ {
		y, err := predict(m, x, opts)
		if err != nil {
			return nil, err
		}
		if mean == nil {
			mean = y
			continue
		}
		for i, v := range y.F32 {
			mean.F32[i] += v
		}
	}
	for i := range mean.F32 {
		mean.F32[i] /= float32(samples)
	}
	return mean, nil
}

func predict(m *model.Model, x *model.Tensor, o buildOpts) (*model.Tensor, error) {
	if x == nil || x.DType != model.Float32 || len(x.Shape) < 1 {
		return nil, fmt.Errorf("finetune: predict: input must be a float32 tensor with a batch dim")
	}
	n := x.Shape[0]
	if n == 0 {
		return nil, fmt.Errorf("finetune: predict: empty batch")
	}
	row := len(x.F32) / n
	st := newStore(m, tensor.Float32)
	graphs := map[int]*graph{}
	var out []float32
	var shape []int
	for lo := 0; lo < n; lo += evalBatch {
		b := min(evalBatch, n-lo)
		g, ok := graphs[b]
		if !ok {
			var err error
			bo := o
			bo.batch = b
			if g, err = build(m, st, bo); err != nil {
				return nil, err
			}
			graphs[b] = g
		}
		xb := g.xbuf.([]float32)
		if len(xb) != b*row {
			return nil, fmt.Errorf("finetune: predict: input has %d values per example; model input %q takes %d", row, m.Inputs[0].Name, len(xb)/b)
		}
		copy(xb, x.F32[lo*row:(lo+b)*row])
		if err := g.vm.RunAll(); err != nil {
			g.vm.Reset()
			return nil, fmt.Errorf("finetune: predict: %w", err)
		}
		v := g.out.Value().Data().([]float32)
		out = append(out, v...)
		shape = append([]int{n}, g.out.Shape()[1:]...)
		g.vm.Reset()
	}
	return &model.Tensor{DType: model.Float32, Shape: shape, F32: out}, nil
}
