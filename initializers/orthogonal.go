package initializers

import (
	"fmt"
	"math/rand"

	"gonum.org/v1/gonum/mat"
)

// drawOrthogonal implements Keras's Orthogonal(gain): flatten shape to
// [rows, cols] = [prod(shape[:-1]), shape[-1]], draw a standard normal
// matrix of shape [max(rows, cols), min(rows, cols)], take its reduced QR
// decomposition, multiply each column of Q by the sign of R's diagonal entry
// (making the decomposition unique, so Q is Haar-distributed), transpose
// when rows < cols, and scale by gain.
func drawOrthogonal(c *config, shape []int, n int, rng *rand.Rand) ([]float32, error) {
	if len(shape) < 2 {
		return nil, fmt.Errorf("%w: orthogonal: shape %v has fewer than 2 dims (Keras's Orthogonal initializer needs at least a matrix)", ErrConfig, shape)
	}
	gain := orDefault(c.Gain, 1)
	cols := shape[len(shape)-1]
	rows := n / max(cols, 1)
	if n == 0 {
		return []float32{}, nil
	}
	big, small := max(rows, cols), min(rows, cols)
	a := mat.NewDense(big, small, nil)
	for i := range big {
		for j := range small {
			a.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q, r mat.Dense
	qr.QTo(&q) // full [big, big]
	qr.RTo(&r) // [big, small]
	out := make([]float32, n)
	for j := range small {
		sign := 1.0
		if r.At(j, j) < 0 {
			sign = -1
		}
		for i := range big {
			v := float32(gain * sign * q.At(i, j))
			if rows >= cols {
				out[i*cols+j] = v // Q is [rows, cols]
			} else {
				out[j*cols+i] = v // Q is [cols, rows]; its transpose is [rows, cols]
			}
		}
	}
	return out, nil
}
