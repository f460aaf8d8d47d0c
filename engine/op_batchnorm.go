package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

// batchNormKernel is BatchNormalization in inference mode on X [N, C, ...]:
//
//	y = (x - mean) / sqrt(var + epsilon) * scale + B
//
// with scale, B, mean and var of shape [C] (or, before opset 9 with
// spatial=0, one value per element of a sample: [C, D...]). Opset >= 14
// training_mode=1 is refused (the engine runs inference only). Optional
// extra outputs (running mean and var) are the inputs unchanged, as ONNX
// defines them outside training.
func batchNormKernel(s *step) error {
	x, err := s.needF32(0)
	if err != nil {
		return err
	}
	var p [4][]float32
	for i := range 4 {
		t, err := s.needF32(i + 1)
		if err != nil {
			return err
		}
		p[i] = t.F32
	}
	if s.opset < 7 && s.node.AttrInt("is_test", 0) == 0 {
		return fmt.Errorf("engine: %w: is_test=0 (opset %d: training mode, batch statistics; the engine runs inference only)", model.ErrUnsupported, s.opset)
	}
	if s.node.AttrInt("training_mode", 0) != 0 {
		return fmt.Errorf("engine: %w: training_mode=1 (the engine runs inference only)", model.ErrUnsupported)
	}
	if len(x.Shape) < 2 {
		return fmt.Errorf("X %v must have rank >= 2", x.Shape)
	}
	n, c := x.Shape[0], x.Shape[1]
	inner := numel(x.Shape[2:])
	per := c // one value per channel
	if s.opset < 9 && s.node.AttrInt("spatial", 1) == 0 {
		per = c * inner
	}
	for i, v := range p {
		if len(v) != per {
			return fmt.Errorf("input %d has %d values, want %d for X %v", i+1, len(v), per, x.Shape)
		}
	}
	eps := float64(s.node.AttrFloat("epsilon", 1e-5))
	a, b := make([]float32, per), make([]float32, per)
	for j := range per {
		sc := float64(p[0][j]) / math.Sqrt(float64(p[3][j])+eps)
		a[j] = float32(sc)
		b[j] = float32(float64(p[1][j]) - float64(p[2][j])*sc)
	}
	y := setF32(s.out[0], x.Shape)
	for img := range n {
		for ch := range c {
			off := (img*c + ch) * inner
			src, dst := x.F32[off:off+inner], y[off:off+inner]
			if per == c {
				av, bv := a[ch], b[ch]
				for i, v := range src {
					dst[i] = v*av + bv
				}
				continue
			}
			av, bv := a[ch*inner:(ch+1)*inner], b[ch*inner:(ch+1)*inner]
			for i, v := range src {
				dst[i] = v*av[i] + bv[i]
			}
		}
	}
	for i := 1; i < len(s.outs) && i < 3; i++ {
		if s.outs[i] >= 0 {
			t := s.in[2+i] // outputs 1, 2 are the running mean and var
			copy(setF32(s.out[i], t.Shape), t.F32)
		}
	}
	for i := 3; i < len(s.outs); i++ {
		if s.outs[i] >= 0 {
			return fmt.Errorf("engine: %w: saved mean/var outputs (training only)", model.ErrUnsupported)
		}
	}
	return nil
}
