package kernels

// The training update loops: vectorised C (act.h) with the bits of the Go
// loops here, which are their reference.

// Momentum is Keras's SGD momentum update in place: v = mom*v - lr*g;
// w += v, or with Nesterov w += mom*v - lr*g.
func Momentum(w, g, v []float32, lr, mom float32, nesterov bool) {
	if !momentumC(w, g, v, lr, mom, nesterov) {
		MomentumGo(w, g, v, lr, mom, nesterov)
	}
}

// MomentumGo is Momentum in Go.
func MomentumGo(w, g, v []float32, lr, mom float32, nesterov bool) {
	g, v = g[:len(w)], v[:len(w)]
	if nesterov {
		for i := range w {
			vi := mom*v[i] - lr*g[i]
			v[i] = vi
			w[i] += mom*vi - lr*g[i]
		}
		return
	}
	for i := range w {
		vi := mom*v[i] - lr*g[i]
		v[i] = vi
		w[i] += vi
	}
}

// ClipValue clamps g to [-v, v] in place.
func ClipValue(g []float32, v float32) {
	if !clipValueC(g, v) {
		ClipValueGo(g, v)
	}
}

// ClipValueGo is ClipValue in Go.
func ClipValueGo(g []float32, v float32) {
	for i, x := range g {
		g[i] = min(max(x, -v), v)
	}
}

// Scale multiplies g by f in place.
func Scale(g []float32, f float32) {
	if !scaleC(g, f) {
		ScaleGo(g, f)
	}
}

// ScaleGo is Scale in Go.
func ScaleGo(g []float32, f float32) {
	for i := range g {
		g[i] *= f
	}
}

// FirstNonFinite returns the index of the first NaN or infinite value of
// g, or -1. The common all-finite case is one vectorised C pass.
func FirstNonFinite(g []float32) int {
	if found, ok := anyNonFiniteC(g); ok && !found {
		return -1
	}
	for i, v := range g {
		// v-v is 0 for every finite v and NaN for NaN and the infinities.
		if v-v != 0 {
			return i
		}
	}
	return -1
}
