package keras

import (
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func pool(nd int, isMax bool) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		def := make([]int, nd)
		for i := range def {
			def[i] = 2 // Keras's default pool_size
		}
		s := layers.PoolSpec{Common: c.common(), Max: isMax, InputSpatial: in[1 : nd+1]}
		if s.PoolSize, err = c.ints("pool_size", nd, def); err != nil {
			return nil, nil, err
		}
		if s.Strides, err = c.ints("strides", nd, nil); err != nil {
			return nil, nil, err
		}
		pad, err := c.str("padding", "valid")
		if err != nil {
			return nil, nil, err
		}
		s.Padding = strings.ToLower(pad)
		l, err := layers.Pooling(s)
		if err != nil {
			return nil, nil, err
		}
		out := []int{-1}
		for i := 0; i < nd; i++ {
			st := s.PoolSize[i]
			if s.Strides != nil {
				st = s.Strides[i]
			}
			out = append(out, spatialOut(in[1+i], s.PoolSize[i], st, 1, s.Padding))
		}
		return l, append(out, in[nd+1]), nil
	}
}

func globalPool(nd int, isMax bool) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		keep, err := c.bool("keepdims", false)
		if err != nil {
			return nil, nil, err
		}
		l, err := layers.GlobalPooling(layers.GlobalPoolSpec{Common: c.common(), Max: isMax, Rank: nd + 2, KeepDims: keep})
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
