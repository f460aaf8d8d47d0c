package finetune

import (
	"math"
	"unsafe"

	"github.com/xferml/xfer/internal/mathf"
)

// expT is e**x: float32 through mathf.Exp (the Cephes algorithm the engine
// uses too, so training and inference agree), float64 through math.Exp (the
// gradient checks' precision). The size test is a constant per
// instantiation.
func expT[T floats](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(mathf.Exp(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// expm1T is e**x - 1 (float64: math.Expm1).
func expm1T[T floats](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(mathf.Exp(float32(x)) - 1)
	}
	return T(math.Expm1(float64(x)))
}

func sigmoidT[T floats](x T) T {
	if x >= 0 {
		return 1 / (1 + expT(-x))
	}
	e := expT(x)
	return e / (1 + e)
}

// eluFamily32 computes y = gamma*x for x > 0, gamma*alpha*(e**x - 1)
// otherwise (SELU; ELU with gamma 1), with mathf.ExpNeg written out in the
// loop (too large for the inliner; TestEluFamilyExpNeg checks it gives
// ExpNeg's bits).
func eluFamily32(alpha, gamma float32, x, y []float32) {
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	ga := gamma * alpha
	y = y[:len(x)]
	for i, v := range x {
		if v > 0 {
			y[i] = gamma * v
			continue
		}
		v = max(v, -87)
		t := v*log2e + 0.5
		n := int32(t)
		if float32(n) > t {
			n--
		}
		fn := float32(n)
		r := v - fn*c1 - fn*c2
		z := r * r
		p := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
		p = p*z + r + 1
		y[i] = ga * (p*math.Float32frombits(uint32(n+127)<<23) - 1)
	}
}

// eluFamilyGrad32 is dx = g*gamma for x > 0, g*(y + gamma*alpha) otherwise.
func eluFamilyGrad32(alpha, gamma float32, x, y, g, dx []float32) {
	ga := gamma * alpha
	y, g, dx = y[:len(x)], g[:len(x)], dx[:len(x)]
	for i, v := range x {
		d := y[i] + ga
		if v > 0 {
			d = gamma
		}
		dx[i] = g[i] * d
	}
}
