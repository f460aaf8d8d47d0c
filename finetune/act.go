package finetune

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// actKind names an element-wise activation with its constants.
type actKind struct {
	name        string
	alpha, beta float64 // LeakyRelu/Elu/HardSigmoid alpha, HardSigmoid beta, Selu alpha
	gamma       float64 // Selu gamma
}

// actForward computes y = f(x) element-wise: in vectorised C for float32
// when k has a C kernel (act_cgo.go, the same bits), else actForwardGo.
func actForward[T floats](k actKind, x, y []T) {
	if x32, ok := any(x).([]float32); ok && biasActC(k, x32, nil, any(y).([]float32), len(x32)) {
		return
	}
	actForwardGo(k, x, y)
}

// actForwardGo is actForward in Go, the reference for the C kernels.
func actForwardGo[T floats](k actKind, x, y []T) {
	a, b, g := k.alpha, k.beta, k.gamma
	if x32, ok := any(x).([]float32); ok && (k.name == "Selu" || k.name == "Elu") {
		if k.name == "Elu" {
			g = 1
		}
		eluFamily32(float32(a), float32(g), x32, any(y).([]float32))
		return
	}
	switch k.name {
	case "Relu":
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case "LeakyRelu":
		for i, v := range x {
			if v < 0 {
				v *= T(a)
			}
			y[i] = v
		}
	case "Elu":
		for i, v := range x {
			if v < 0 {
				v = T(a) * expm1T(v)
			}
			y[i] = v
		}
	case "Selu":
		for i, v := range x {
			if v > 0 {
				y[i] = T(g) * v
			} else {
				y[i] = T(g*a) * expm1T(v)
			}
		}
	case "Sigmoid":
		for i, v := range x {
			y[i] = sigmoidT(v)
		}
	case "HardSigmoid":
		for i, v := range x {
			y[i] = min(max(T(a)*v+T(b), 0), 1)
		}
	case "Tanh":
		for i, v := range x {
			y[i] = T(math.Tanh(float64(v)))
		}
	case "Softplus":
		for i, v := range x {
			y[i] = T(softplus(float64(v)))
		}
	case "Softsign":
		for i, v := range x {
			y[i] = v / (1 + T(math.Abs(float64(v))))
		}
	case "Exp":
		for i, v := range x {
			y[i] = expT(v)
		}
	case "Affine":
		for i, v := range x {
			y[i] = T(a)*v + T(b)
		}
	case "HardSwish":
		for i, v := range x {
			y[i] = v * min(max(v/6+0.5, 0), 1)
		}
	case "Erf":
		for i, v := range x {
			y[i] = T(math.Erf(float64(v)))
		}
	case "ThresholdedRelu":
		for i, v := range x {
			if v <= T(a) {
				v = 0
			}
			y[i] = v
		}
	case "Abs":
		for i, v := range x {
			y[i] = T(math.Abs(float64(v)))
		}
	case "Clip":
		for i, v := range x {
			y[i] = min(max(v, T(a)), T(b))
		}
	case "Identity":
		copy(y, x)
	}
}

// actBackward computes dx = g * f'(x) given x and y = f(x): in vectorised
// C for float32 when k has a C kernel (act_cgo.go, the same bits), else
// actBackwardGo.
func actBackward[T floats](k actKind, x, y, g, dx []T) {
	if x32, ok := any(x).([]float32); ok && actBackwardC(k, x32, any(y).([]float32), any(g).([]float32), any(dx).([]float32)) {
		return
	}
	actBackwardGo(k, x, y, g, dx)
}

// actBackwardGo is actBackward in Go, the reference for the C kernels.
func actBackwardGo[T floats](k actKind, x, y, g, dx []T) {
	a, b, gm := T(k.alpha), T(k.beta), T(k.gamma)
	if x32, ok := any(x).([]float32); ok && (k.name == "Selu" || k.name == "Elu") {
		gamma := float32(k.gamma)
		if k.name == "Elu" {
			gamma = 1
		}
		eluFamilyGrad32(float32(k.alpha), gamma, x32, any(y).([]float32), any(g).([]float32), any(dx).([]float32))
		return
	}
	switch k.name {
	case "Relu":
		for i, v := range x {
			if v > 0 {
				dx[i] = g[i]
			} else {
				dx[i] = 0
			}
		}
	case "LeakyRelu":
		for i, v := range x {
			if v < 0 {
				dx[i] = g[i] * a
			} else {
				dx[i] = g[i]
			}
		}
	case "Elu":
		for i, v := range x {
			if v < 0 {
				dx[i] = g[i] * (y[i] + a) // d/dx a(e^x-1) = a e^x = y + a
			} else {
				dx[i] = g[i]
			}
		}
	case "Selu":
		for i, v := range x {
			if v > 0 {
				dx[i] = g[i] * gm
			} else {
				dx[i] = g[i] * (y[i] + gm*a) // d/dx ga(e^x-1) = ga e^x = y + ga
			}
		}
	case "Sigmoid":
		for i := range x {
			dx[i] = g[i] * y[i] * (1 - y[i])
		}
	case "HardSigmoid":
		for i, v := range x {
			if u := a*v + b; u > 0 && u < 1 {
				dx[i] = g[i] * a
			} else {
				dx[i] = 0
			}
		}
	case "Tanh":
		for i := range x {
			dx[i] = g[i] * (1 - y[i]*y[i])
		}
	case "Softplus":
		for i, v := range x {
			dx[i] = g[i] * sigmoidT(v)
		}
	case "Softsign":
		for i, v := range x {
			d := 1 + T(math.Abs(float64(v)))
			dx[i] = g[i] / (d * d)
		}
	case "Exp":
		for i := range x {
			dx[i] = g[i] * y[i]
		}
	case "Affine":
		for i := range x {
			dx[i] = g[i] * a
		}
	case "HardSwish":
		for i, v := range x {
			switch {
			case v < -3:
				dx[i] = 0
			case v > 3:
				dx[i] = g[i]
			default:
				dx[i] = g[i] * (v/3 + 0.5)
			}
		}
	case "Erf":
		for i, v := range x {
			dx[i] = g[i] * T(2/math.SqrtPi*math.Exp(-float64(v)*float64(v)))
		}
	case "ThresholdedRelu":
		for i, v := range x {
			if v > a {
				dx[i] = g[i]
			} else {
				dx[i] = 0
			}
		}
	case "Abs":
		for i, v := range x {
			switch {
			case v > 0:
				dx[i] = g[i]
			case v < 0:
				dx[i] = -g[i]
			default:
				dx[i] = 0
			}
		}
	case "Clip":
		// As tf.clip_by_value: the gradient passes inside [min, max] inclusive.
		for i, v := range x {
			if v >= a && v <= b {
				dx[i] = g[i]
			} else {
				dx[i] = 0
			}
		}
	case "Identity":
		copy(dx, g)
	}
}

func sigmoid(v float64) float64 {
	if v >= 0 {
		return 1 / (1 + math.Exp(-v))
	}
	e := math.Exp(v)
	return e / (1 + e)
}

func softplus(v float64) float64 {
	if v > 0 {
		return v + math.Log1p(math.Exp(-v))
	}
	return math.Log1p(math.Exp(v))
}

// activation applies k to x.
func activation(k actKind, x *G.Node) (*G.Node, error) {
	dt := x.Dtype()
	op := newOp(k.name, dt, x.Shape(), 1)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			actForward(k, f64(in[0]), f64(out))
		} else {
			actForward(k, f32(in[0]), f32(out))
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		gop := newOp(k.name+"Grad", dt, x.Shape(), 3)
		gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				actBackward(k, f64(in[0]), f64(in[1]), f64(in[2]), f64(out))
			} else {
				actBackward(k, f32(in[0]), f32(in[1]), f32(in[2]), f32(out))
			}
			return nil
		}
		dx, err := gop.apply(in[0], y, grad)
		return G.Nodes{dx}, err
	}
	return op.apply(x)
}

// rowOp applies fn to each row of the last axis (softmax and log-softmax).
func softmaxLike(name string, x *G.Node) (*G.Node, error) {
	dt := x.Dtype()
	shape := x.Shape()
	if len(shape) == 0 {
		return nil, fmt.Errorf("finetune: %s of a scalar", name)
	}
	c := shape[len(shape)-1]
	log := name == "LogSoftmax"
	op := newOp(name, dt, shape, 1)
	op.do = func(in []*tensor.Dense, out *tensor.Dense) error {
		if dt == tensor.Float64 {
			softmaxRows(f64(in[0]), f64(out), c, log)
		} else {
			softmaxRows(f32(in[0]), f32(out), c, log)
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		gop := newOp(name+"Grad", dt, shape, 2)
		gop.do = func(in []*tensor.Dense, out *tensor.Dense) error {
			if dt == tensor.Float64 {
				softmaxRowsGrad(f64(in[0]), f64(in[1]), f64(out), c, log)
			} else {
				softmaxRowsGrad(f32(in[0]), f32(in[1]), f32(out), c, log)
			}
			return nil
		}
		dx, err := gop.apply(y, grad)
		return G.Nodes{dx}, err
	}
	return op.apply(x)
}

func softmaxRows[T floats](x, y []T, c int, log bool) {
	for r := 0; r+c <= len(x); r += c {
		row, out := x[r:r+c], y[r:r+c]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for i, v := range row {
			e := math.Exp(float64(v - m))
			out[i] = T(e)
			s += e
		}
		if log {
			ls := T(math.Log(s))
			for i, v := range row {
				out[i] = v - m - ls
			}
		} else {
			for i := range out {
				out[i] = T(float64(out[i]) / s)
			}
		}
	}
}

// softmaxRowsGrad: softmax dx = y (g - sum(g y)); log-softmax dx = g - e^y sum(g).
func softmaxRowsGrad[T floats](y, g, dx []T, c int, log bool) {
	for r := 0; r+c <= len(y); r += c {
		yr, gr, dr := y[r:r+c], g[r:r+c], dx[r:r+c]
		var s T
		if log {
			for _, v := range gr {
				s += v
			}
			for i := range dr {
				dr[i] = gr[i] - T(math.Exp(float64(yr[i])))*s
			}
			continue
		}
		for i := range gr {
			s += gr[i] * yr[i]
		}
		for i := range dr {
			dr[i] = yr[i] * (gr[i] - s)
		}
	}
}
