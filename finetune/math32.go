package finetune

import (
	"math"
	"unsafe"
)

// expf returns e**x in float32 with the Cephes single-precision algorithm
// (S. L. Moshier, Cephes Math Library, expf.c): range reduction plus a
// minimax polynomial, about 1 ulp, several times faster than math.Exp. The
// engine uses the same algorithm, so training and inference agree.
func expf(x float32) float32 {
	const (
		hi    = 88.72283905206835 // ln(MaxFloat32)
		lo    = -103.97207708     // below, exp underflows to 0 in float32
		log2e = 1.44269504088896341
		c1    = 0.693359375    // ln 2, high part
		c2    = -2.12194440e-4 // ln 2, low part
	)
	switch {
	case x > hi:
		return float32(math.Inf(1))
	case x < lo:
		return 0
	case x != x:
		return x
	}
	fx := float32(math.Floor(float64(x*log2e + 0.5)))
	x = x - fx*c1 - fx*c2
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	n := int32(fx)
	if n < -126 {
		return y * math.Float32frombits(uint32(n+126+127)<<23) * math.Float32frombits(uint32(-126+127)<<23)
	}
	if n > 127 {
		return y * math.Float32frombits(uint32(n-1+127)<<23) * 2
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// expT is e**x: float32 through expf, float64 through math.Exp (the
// gradient checks' precision). The size test is a constant per
// instantiation.
func expT[T floats](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(expf(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// expm1T is e**x - 1 (float64: math.Expm1).
func expm1T[T floats](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(expf(float32(x)) - 1)
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

// expNeg returns e**x for x in [-87, 0] (callers clamp): expf without its
// range checks and with a branch-light floor, for the SELU/ELU hot loops.
func expNeg(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	t := x*log2e + 0.5
	n := int32(t)
	if float32(n) > t {
		n-- // floor for negative t
	}
	fn := float32(n)
	x = x - fn*c1 - fn*c2
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// eluFamily32 computes y = gamma*x for x > 0, gamma*alpha*(e**x - 1)
// otherwise (SELU; ELU with gamma 1), with expNeg written out in the loop
// (too large for the inliner).
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
