package kernels

import "math"

const (
	expHi = 88.72283905206835   // ln(MaxFloat32): above, exp overflows
	expLo = -103.97207708       // below, exp underflows to 0 in float32
	log2e = 1.44269504088896341 // 1/ln 2
	expC1 = 0.693359375         // ln 2, high part (Cephes)
	expC2 = -2.12194440e-4      // ln 2, low part (Cephes)
)

// Exp returns e**x in float32: +Inf above ln(MaxFloat32), 0 below
// -103.97, NaN for NaN.
func Exp(x float32) float32 {
	switch {
	case x > expHi:
		return float32(math.Inf(1))
	case x < expLo:
		return 0
	case x != x:
		return x
	}
	fx := float32(math.Floor(float64(x*log2e + 0.5)))
	x = x - fx*expC1 - fx*expC2
	z := x * x
	// Cephes expf polynomial coefficients.
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	n := int32(fx)
	if n < -126 { // denormal result: scale in two steps
		return y * math.Float32frombits(uint32(n+126+127)<<23) * math.Float32frombits(uint32(-126+127)<<23)
	}
	if n > 127 {
		return y * math.Float32frombits(uint32(n-1+127)<<23) * 2
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// ExpNeg returns e**x for x in [-87, 0] (callers clamp; outside it the
// result is wrong): Exp without its range checks and with a branch-light
// floor (int32 truncation, then one step down for negative t), for the
// SELU/ELU hot loops. On [-87, 0] it returns Exp's bits (TestExpNeg).
func ExpNeg(x float32) float32 {
	t := x*log2e + 0.5
	n := int32(t)
	if float32(n) > t {
		n-- // floor for negative t
	}
	fn := float32(n)
	x = x - fn*expC1 - fn*expC2
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// Tanh returns tanh(x) in float32.
func Tanh(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a != a {
		return x
	}
	if a > 9 { // tanh(9) rounds to 1 in float32
		if x < 0 {
			return -1
		}
		return 1
	}
	if a >= 0.625 {
		t := Exp(2 * a)
		y := 1 - 2/(t+1)
		if x < 0 {
			return -y
		}
		return y
	}
	z := x * x
	// Cephes tanhf polynomial coefficients.
	return ((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z*x + x
}

// Sigmoid returns 1/(1+e**-x) in float32, computed from e**x for x < 0 so
// that it neither overflows nor loses the small values.
func Sigmoid(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + Exp(-x))
	}
	e := Exp(x)
	return e / (1 + e)
}
