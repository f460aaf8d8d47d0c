package engine

import (
	"fmt"
	"sort"

	"github.com/xferml/xfer/model"
)

// topKKernel is TopK along axis (default -1): the k (input 1 from opset
// 10, attribute before) largest (largest=1) or smallest values and their
// int64 indices, sorted (sorted=1) by value, equal values by index as
// numpy's stable sort; unsorted output keeps the same order.
func topKKernel(kFromInput bool) kernel {
	return func(s *step) error {
		x, err := s.need(0)
		if err != nil {
			return err
		}
		k := s.node.AttrInt("k", -1)
		if kFromInput {
			kt, err := s.need(1)
			if err != nil {
				return err
			}
			kv, err := ints(kt)
			if err != nil || len(kv) != 1 {
				return fmt.Errorf("K must be a one-element int64 tensor")
			}
			k = kv[0]
		}
		r := len(x.Shape)
		axis, err := model.NormAxis(s.node.AttrInt("axis", -1), r)
		if err != nil {
			return err
		}
		dim := x.Shape[axis]
		if k < 0 || k > int64(dim) {
			return fmt.Errorf("k %d is outside [0, %d]", k, dim)
		}
		largest := s.node.AttrInt("largest", 1) != 0
		shape := append([]int{}, x.Shape...)
		shape[axis] = int(k)
		setLike(s.out[0], x, shape)
		idxOut := setI64(s.out[1], shape)
		outer, inner := numel(x.Shape[:axis]), numel(x.Shape[axis+1:])
		order := make([]int, dim)
		get := func(p int) float64 {
			if isInt(x) {
				return float64(x.I64[p])
			}
			return float64(x.F32[p])
		}
		for a := range outer {
			for c := range inner {
				base := a*dim*inner + c
				for i := range order {
					order[i] = i
				}
				sort.SliceStable(order, func(i, j int) bool {
					u, v := get(base+order[i]*inner), get(base+order[j]*inner)
					if u != u || v != v {
						return u != u && v == v // NaN first, as the largest
					}
					if largest {
						return u > v
					}
					return u < v
				})
				for i := range int(k) {
					src := base + order[i]*inner
					dst := (a*int(k)+i)*inner + c
					if isInt(x) {
						s.out[0].I64[dst] = x.I64[src]
					} else {
						s.out[0].F32[dst] = x.F32[src]
					}
					idxOut[dst] = int64(order[i])
				}
			}
		}
		return nil
	}
}
