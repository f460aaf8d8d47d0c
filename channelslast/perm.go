package channelslast

import (
	"fmt"
	"slices"
)

// A perm describes how a value of the converted model is laid out relative
// to the same value of the source model: axis k of the converted tensor is
// axis perm[k] of the source tensor (ONNX Transpose semantics,
// converted = Transpose(source, perm)). The batch axis stays first.

// identity returns [0 1 ... r-1].
func identity(r int) []int {
	p := make([]int, r)
	for i := range p {
		p[i] = i
	}
	return p
}

// channelsLast returns the perm that moves axis 1 (channels) last:
// [0 2 3 ... r-1 1]; for r <= 2 it is the identity.
func channelsLast(r int) []int {
	if r <= 2 {
		return identity(r)
	}
	p := []int{0}
	for i := 2; i < r; i++ {
		p = append(p, i)
	}
	return append(p, 1)
}

func isIdentity(p []int) bool {
	for i, v := range p {
		if v != i {
			return false
		}
	}
	return true
}

// inverse returns q with q[p[k]] = k.
func inverse(p []int) []int {
	q := make([]int, len(p))
	for k, v := range p {
		q[v] = k
	}
	return q
}

// position returns the axis of the converted tensor that holds source axis
// a.
func position(p []int, a int) int { return slices.Index(p, a) }

// relative returns r such that Transpose(x, r) turns a tensor laid out as
// from into one laid out as to: to[k] = from[r[k]].
func relative(from, to []int) []int {
	r := make([]int, len(to))
	for k, a := range to {
		r[k] = slices.Index(from, a)
	}
	return r
}

// permKey is a map key for a perm.
func permKey(p []int) string { return fmt.Sprint(p) }

// permuteShape returns shape laid out by p.
func permuteShape(shape, p []int) []int {
	out := make([]int, len(p))
	for k, a := range p {
		out[k] = shape[a]
	}
	return out
}

// transposeData returns data of the given shape transposed by perm (ONNX
// Transpose semantics) and the new shape.
func transposeData(data []float32, shape, perm []int) ([]float32, []int) {
	r := len(shape)
	outShape := permuteShape(shape, perm)
	if r == 0 || isIdentity(perm) {
		return slices.Clone(data), outShape
	}
	// Strides of the source, visited in the order of the output's axes.
	srcStride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		srcStride[i] = s
		s *= shape[i]
	}
	stride := make([]int, r)
	for k, a := range perm {
		stride[k] = srcStride[a]
	}
	out := make([]float32, len(data))
	idx := make([]int, r)
	off := 0
	for i := range out {
		out[i] = data[off]
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			off += stride[k]
			if idx[k] < outShape[k] {
				break
			}
			off -= stride[k] * outShape[k]
			idx[k] = 0
		}
	}
	return out, outShape
}
