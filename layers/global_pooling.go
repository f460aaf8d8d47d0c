package layers

import (
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// GlobalPoolSpec is a Keras GlobalAveragePooling1D/2D or
// GlobalMaxPooling1D/2D layer on channels-last data.
type GlobalPoolSpec struct {
	Common
	Max      bool
	Rank     int // input rank, batch included: 3 for 1D, 4 for 2D
	KeepDims bool
}

// GlobalPooling returns ReduceMean or ReduceMax over the spatial axes
// 1..rank-2 (opset 17: axes is an attribute), keeping them as size-1 dims
// when KeepDims.
func GlobalPooling(s GlobalPoolSpec) (*model.Layer, error) {
	n := s.Rank - 2
	kind := fmt.Sprintf("GlobalAveragePooling%dD", n)
	op := "ReduceMean"
	if s.Max {
		kind = fmt.Sprintf("GlobalMaxPooling%dD", n)
		op = "ReduceMax"
	}
	b, err := s.builder(kind, 1)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("layers: layer %q: global pooling needs an input of rank >= 3, got %d", s.Name, s.Rank)
	}
	axes := make([]int64, n)
	for i := range axes {
		axes[i] = int64(i + 1)
	}
	keep := int64(0)
	if s.KeepDims {
		keep = 1
	}
	return s.done(b, b.node(op, []string{s.Inputs[0]}, map[string]model.Attr{"axes": model.Ints(axes...), "keepdims": model.Int(keep)}), s.config), nil
}

// config writes a global pooling config.
func (s GlobalPoolSpec) config() *pyjson.Obj {
	return baseConfig(s.Name, s.Trainable).Set("data_format", "channels_last").Set("keepdims", s.KeepDims)
}

func readGlobalPool(nd int, isMax bool) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		keep, err := c.bool("keepdims", false)
		if err != nil {
			return nil, nil, err
		}
		l, err := GlobalPooling(GlobalPoolSpec{Common: c.common(), Max: isMax, Rank: nd + 2, KeepDims: keep})
		out := []int{-1, in[nd+1]}
		if keep {
			out = []int{-1}
			for i := 0; i < nd; i++ {
				out = append(out, 1)
			}
			out = append(out, in[nd+1])
		}
		return l, out, err
	}
}
