//go:build !cgo || xfer_purego

package finetune

// biasActC would add a bias and apply an activation in C; without cgo (or
// with xfer_purego) the Go kernels do it, so it reports false.
func biasActC(k actKind, z, b, y []float32, u int) bool { return false }

// actBackwardC would be actBackward in C; without cgo it reports false.
func actBackwardC(k actKind, x, y, g, dx []float32) bool { return false }

// sumRowsC would be sumRows in C; without cgo it reports false.
func sumRowsC(g, out []float32) bool { return false }

// momentumC would be momentumUpdate in C; without cgo it reports false.
func momentumC(w, g, v []float32, lr, mom float32, nesterov bool) bool { return false }

// clipValueC would be the ClipValue loop in C; without cgo it reports false.
func clipValueC(g []float32, v float32) bool { return false }

// scaleC would be scaleTo's loop in C; without cgo it reports false.
func scaleC(g []float32, f float32) bool { return false }

// anyNonFiniteC would scan g in C; without cgo it reports ok false.
func anyNonFiniteC(g []float32) (found, ok bool) { return false, false }
