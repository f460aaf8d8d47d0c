package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// softmaxKernel is Softmax (logOut false) or LogSoftmax (true). Before opset
// 13 (along false) the input is coerced to 2-D at axis (default 1) and each
// row is normalised; from 13 (along true) values are normalised along axis
// (default -1).
func softmaxKernel(logOut, along bool) kernel {
	return func(s *step) error {
		x, err := s.needF32(0)
		if err != nil {
			return err
		}
		r := len(x.Shape)
		if r == 0 {
			return fmt.Errorf("scalar input")
		}
		axis, err := model.NormAxis(softmaxAxis(s, along), r)
		if err != nil {
			return err
		}
		outer, n, inner := numel(x.Shape[:axis]), x.Shape[axis], numel(x.Shape[axis+1:])
		if !along {
			n, inner = n*inner, 1
		}
		softmax(setF32(s.out[0], x.Shape), x.F32, outer, n, inner, logOut)
		return nil
	}
}

// softmax normalises x viewed as [outer, n, inner] along n.
func softmax(d, x []float32, outer, n, inner int, logOut bool) {
	if n == 0 {
		return
	}
	for o := range outer {
		for in := range inner {
			base := o*n*inner + in
			mx := float32(math.Inf(-1))
			for j := range n {
				mx = max(mx, x[base+j*inner])
			}
			var sum float32
			for j := range n {
				e := kernels.Exp(x[base+j*inner] - mx)
				d[base+j*inner] = e
				sum += e
			}
			if logOut {
				ls := float32(math.Log(float64(sum)))
				for j := range n {
					d[base+j*inner] = x[base+j*inner] - mx - ls
				}
				continue
			}
			inv := 1 / sum
			for j := range n {
				d[base+j*inner] *= inv
			}
		}
	}
}

// softmaxAxis is the axis attribute of Softmax, LogSoftmax and Hardmax:
// by default -1 from opset 13 (along: normalised along the axis), 1 before
// (the input coerced to 2-D at the axis).
func softmaxAxis(s *step, along bool) int64 {
	def := int64(1)
	if along {
		def = -1
	}
	return s.node.AttrInt("axis", def)
}
