package kernels

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/xferml/xfer/model"
)

// Floats is the element type of the generic kernels: float32 for inference
// and training, float64 for gradient checks.
type Floats interface{ ~float32 | ~float64 }

// Act is an element-wise activation with its constants: an ONNX op type of
// the table below, or one of the kernels' own: Affine (Alpha*x + Beta),
// Clip (min(max(x, Alpha), Beta)) and Identity.
type Act struct {
	Op                 string
	Alpha, Beta, Gamma float64
	// Approx is Gelu's "approximate" attribute ("none" or "tanh").
	Approx string
}

// act is one row of the activation table: how to read the constants from an
// ONNX node (with the spec's defaults), the forward and backward loops in
// Go for both element types (the reference for the C kernels, act.h), and
// whether the op is only the kernels' own (not an ONNX op).
type act struct {
	attrs        func(n *model.Node) (Act, error)
	fwd32        func(a *Act, x, y []float32)
	fwd64        func(a *Act, x, y []float64)
	bwd32        func(a *Act, x, y, g, dx []float32) // nil: no gradient
	bwd64        func(a *Act, x, y, g, dx []float64)
	internalOnly bool
}

// ONNX Selu defaults (Klambauer et al. 2017, as float32 in the ONNX spec).
const (
	SeluAlpha = 1.67326319217681884765625
	SeluGamma = 1.05070102214813232421875
)

// plain reads no attribute.
func plain(op string) func(*model.Node) (Act, error) {
	return func(*model.Node) (Act, error) { return Act{Op: op}, nil }
}

// withAlpha reads attribute alpha (default def).
func withAlpha(op string, def float32) func(*model.Node) (Act, error) {
	return func(n *model.Node) (Act, error) { return Act{Op: op, Alpha: float64(n.AttrFloat("alpha", def))}, nil }
}

// table is every element-wise activation xfer runs, for the engine and for
// training alike. Adding one means a line here and its loops below (and,
// for speed, a case in act.h).
var table = map[string]act{
	"Identity":  {plain("Identity"), identityF[float32], identityF[float64], identityB[float32], identityB[float64], false},
	"Relu":      {plain("Relu"), reluF[float32], reluF[float64], reluB[float32], reluB[float64], false},
	"LeakyRelu": {withAlpha("LeakyRelu", 0.01), leakyF[float32], leakyF[float64], leakyB[float32], leakyB[float64], false},
	"Elu":       {withAlpha("Elu", 1), eluF[float32], eluF[float64], eluB[float32], eluB[float64], false},
	"Selu": {func(n *model.Node) (Act, error) {
		return Act{Op: "Selu", Alpha: float64(n.AttrFloat("alpha", SeluAlpha)), Gamma: float64(n.AttrFloat("gamma", SeluGamma))}, nil
	}, seluF[float32], seluF[float64], seluB[float32], seluB[float64], false},
	"Celu":    {withAlpha("Celu", 1), celuF[float32], celuF[float64], celuB[float32], celuB[float64], false},
	"Sigmoid": {plain("Sigmoid"), sigmoidF[float32], sigmoidF[float64], sigmoidB[float32], sigmoidB[float64], false},
	"HardSigmoid": {func(n *model.Node) (Act, error) {
		return Act{Op: "HardSigmoid", Alpha: float64(n.AttrFloat("alpha", 0.2)), Beta: float64(n.AttrFloat("beta", 0.5))}, nil
	}, hardSigmoidF[float32], hardSigmoidF[float64], hardSigmoidB[float32], hardSigmoidB[float64], false},
	// ONNX HardSwish: x * max(0, min(1, x/6 + 1/2)).
	"HardSwish": {plain("HardSwish"), hardSwishF[float32], hardSwishF[float64], hardSwishB[float32], hardSwishB[float64], false},
	"Tanh":      {plain("Tanh"), tanhF[float32], tanhF[float64], tanhB[float32], tanhB[float64], false},
	"Softplus":  {plain("Softplus"), softplusF[float32], softplusF[float64], softplusB[float32], softplusB[float64], false},
	"Softsign":  {plain("Softsign"), softsignF[float32], softsignF[float64], softsignB[float32], softsignB[float64], false},
	"Gelu": {func(n *model.Node) (Act, error) {
		a := Act{Op: "Gelu", Approx: n.AttrString("approximate", "none")}
		if a.Approx != "none" && a.Approx != "tanh" {
			return a, fmt.Errorf("Gelu approximate %q (want none or tanh)", a.Approx)
		}
		return a, nil
	}, geluF[float32], geluF[float64], geluB[float32], geluB[float64], false},
	// Mish: x * tanh(softplus(x)).
	"Mish":            {plain("Mish"), mishF[float32], mishF[float64], mishB[float32], mishB[float64], false},
	"Erf":             {plain("Erf"), erfF[float32], erfF[float64], erfB[float32], erfB[float64], false},
	"Exp":             {plain("Exp"), expF[float32], expF[float64], expB[float32], expB[float64], false},
	"Log":             {plain("Log"), logF[float32], logF[float64], logB[float32], logB[float64], false},
	"Sqrt":            {plain("Sqrt"), sqrtF[float32], sqrtF[float64], sqrtB[float32], sqrtB[float64], false},
	"Neg":             {plain("Neg"), negF[float32], negF[float64], negB[float32], negB[float64], false},
	"Abs":             {plain("Abs"), absF[float32], absF[float64], absB[float32], absB[float64], false},
	"Reciprocal":      {plain("Reciprocal"), recipF[float32], recipF[float64], recipB[float32], recipB[float64], false},
	"ThresholdedRelu": {withAlpha("ThresholdedRelu", 1), threshF[float32], threshF[float64], threshB[float32], threshB[float64], false},
	// act_math.go
	"Sin": mathRow("Sin"), "Cos": mathRow("Cos"), "Tan": mathRow("Tan"), "Asin": mathRow("Asin"),
	"Acos": mathRow("Acos"), "Atan": mathRow("Atan"), "Sinh": mathRow("Sinh"), "Cosh": mathRow("Cosh"),
	"Asinh": mathRow("Asinh"), "Acosh": mathRow("Acosh"), "Atanh": mathRow("Atanh"),
	"Floor": mathRow("Floor"), "Ceil": mathRow("Ceil"), "Round": mathRow("Round"), "Sign": mathRow("Sign"),
	"Affine": {nil, affineF[float32], affineF[float64], affineB[float32], affineB[float64], true},
	"Clip":   {nil, clipF[float32], clipF[float64], clipB[float32], clipB[float64], true},
}

// IsAct reports whether op is an ONNX element-wise activation of the table
// (one input, attributes only).
func IsAct(op string) bool {
	a, ok := table[op]
	return ok && !a.internalOnly
}

// ActOf reads the activation of node n with ONNX's defaults.
func ActOf(n *model.Node) (Act, error) {
	a, ok := table[n.Op]
	if !ok || a.internalOnly {
		return Act{}, fmt.Errorf("%s is not an element-wise activation", n.Op)
	}
	return a.attrs(n)
}

// HasGrad reports whether activation op has a backward kernel.
func HasGrad(op string) bool {
	a, ok := table[op]
	return ok && a.bwd32 != nil
}

// Forward computes y = f(x) element-wise: in vectorised C for float32 when
// a has a C kernel (act.h, the same bits), else ForwardGo. x and y may be
// the same slice.
func Forward[T Floats](a Act, x, y []T) {
	if x32, ok := any(x).([]float32); ok && len(x32) > 0 && biasActC(a, 1, len(x32), x32, len(x32), nil, any(y).([]float32), len(x32)) {
		return
	}
	ForwardGo(a, x, y)
}

// ForwardGo is Forward in Go, the reference for the C kernels. An unknown
// activation copies x.
func ForwardGo[T Floats](a Act, x, y []T) {
	d, ok := table[a.Op]
	if !ok {
		copy(y, x)
		return
	}
	switch x := any(x).(type) {
	case []float32:
		d.fwd32(&a, x, any(y).([]float32)[:len(x)])
	case []float64:
		d.fwd64(&a, x, any(y).([]float64)[:len(x)])
	}
}

// Backward computes dx = g * f'(x) given x and y = f(x): in vectorised C
// for float32 when a has a C kernel (the same bits), else BackwardGo.
func Backward[T Floats](a Act, x, y, g, dx []T) {
	if x32, ok := any(x).([]float32); ok && actBackwardC(a, x32, any(y).([]float32), any(g).([]float32), any(dx).([]float32)) {
		return
	}
	BackwardGo(a, x, y, g, dx)
}

// BackwardGo is Backward in Go, the reference for the C kernels. An
// activation without a gradient (see HasGrad) passes g through.
func BackwardGo[T Floats](a Act, x, y, g, dx []T) {
	d, ok := table[a.Op]
	if !ok || d.bwd32 == nil {
		copy(dx, g)
		return
	}
	n := len(x)
	switch x := any(x).(type) {
	case []float32:
		d.bwd32(&a, x, any(y).([]float32)[:n], any(g).([]float32)[:n], any(dx).([]float32)[:n])
	case []float64:
		d.bwd64(&a, x, any(y).([]float64)[:n], any(g).([]float64)[:n], any(dx).([]float64)[:n])
	}
}

// BiasAct adds bias (nil: none) to each of the m rows of z (n columns, row
// stride ldz) in place, then writes y = f(z) (row stride ldy; y may be z):
// one vectorised C pass when a has a C kernel, else AddRows then ForwardGo,
// with the same bits.
func BiasAct(a Act, m, n int, z []float32, ldz int, bias, y []float32, ldy int) {
	if m == 0 || n == 0 || biasActC(a, m, n, z, ldz, bias, y, ldy) {
		return
	}
	for i := range m {
		zr, yr := z[i*ldz:i*ldz+n], y[i*ldy:i*ldy+n]
		if bias != nil {
			AddRows(zr, bias, zr)
		}
		ForwardGo(a, zr, yr)
	}
}

// AddRows is y = x + b with b added to each row of x (len(b) columns).
func AddRows[T Floats](x, b, y []T) {
	c := len(b)
	for r := 0; r+c <= len(x); r += c {
		for j, v := range b {
			y[r+j] = x[r+j] + v
		}
	}
}

// SumRows sets out (c = len(out) columns) to the sum of the rows of g, in
// row order: in vectorised C for float32 (the same bits).
func SumRows[T Floats](g, out []T) {
	if g32, ok := any(g).([]float32); ok && sumRowsC(g32, any(out).([]float32)) {
		return
	}
	SumRowsGo(g, out)
}

// SumRowsGo is SumRows in Go.
func SumRowsGo[T Floats](g, out []T) {
	c := len(out)
	clear(out)
	for r := 0; r+c <= len(g); r += c {
		for j, v := range g[r : r+c] {
			out[j] += v
		}
	}
}

// expT is e**x: float32 through Exp (Cephes), float64 through math.Exp
// (the gradient checks' precision). The size test is a constant per
// instantiation.
func expT[T Floats](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(Exp(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// expm1T is e**x - 1 (float64: math.Expm1).
func expm1T[T Floats](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(Exp(float32(x)) - 1)
	}
	return T(math.Expm1(float64(x)))
}

// tanhT is tanh(x): float32 through Tanh (Cephes), float64 through
// math.Tanh.
func tanhT[T Floats](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(Tanh(float32(x)))
	}
	return T(math.Tanh(float64(x)))
}

func sigmoidT[T Floats](x T) T {
	if x >= 0 {
		return 1 / (1 + expT(-x))
	}
	e := expT(x)
	return e / (1 + e)
}

// SigmoidF64 is the logistic function in float64.
func SigmoidF64(v float64) float64 {
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

// The loops of the table, forward (...F) and backward (...B).

func identityF[T Floats](_ *Act, x, y []T) { copy(y, x) }

func identityB[T Floats](_ *Act, _, _, g, dx []T) { copy(dx, g) }

func reluF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

func reluB[T Floats](_ *Act, x, _, g, dx []T) {
	for i, v := range x {
		if v > 0 {
			dx[i] = g[i]
		} else {
			dx[i] = 0
		}
	}
}

func leakyF[T Floats](a *Act, x, y []T) {
	al := T(a.Alpha)
	for i, v := range x {
		if v < 0 {
			v *= al
		}
		y[i] = v
	}
}

func leakyB[T Floats](a *Act, x, _, g, dx []T) {
	al := T(a.Alpha)
	for i, v := range x {
		if v < 0 {
			dx[i] = g[i] * al
		} else {
			dx[i] = g[i]
		}
	}
}

// eluF and seluF: float32 through eluFamily32 (the loop the C kernel
// repeats), float64 with math.Expm1.
func eluF[T Floats](a *Act, x, y []T) {
	if x32, ok := any(x).([]float32); ok {
		eluFamily32(float32(a.Alpha), 1, x32, any(y).([]float32))
		return
	}
	al := T(a.Alpha)
	for i, v := range x {
		if v < 0 {
			v = al * expm1T(v)
		}
		y[i] = v
	}
}

func eluB[T Floats](a *Act, x, y, g, dx []T) {
	if x32, ok := any(x).([]float32); ok {
		eluFamilyGrad32(float32(a.Alpha), 1, x32, any(y).([]float32), any(g).([]float32), any(dx).([]float32))
		return
	}
	al := T(a.Alpha)
	for i, v := range x {
		if v < 0 {
			dx[i] = g[i] * (y[i] + al) // d/dx a(e^x-1) = a e^x = y + a
		} else {
			dx[i] = g[i]
		}
	}
}

func seluF[T Floats](a *Act, x, y []T) {
	if x32, ok := any(x).([]float32); ok {
		eluFamily32(float32(a.Alpha), float32(a.Gamma), x32, any(y).([]float32))
		return
	}
	g, ga := T(a.Gamma), T(a.Gamma*a.Alpha)
	for i, v := range x {
		if v > 0 {
			y[i] = g * v
		} else {
			y[i] = ga * expm1T(v)
		}
	}
}

func seluB[T Floats](a *Act, x, y, g, dx []T) {
	if x32, ok := any(x).([]float32); ok {
		eluFamilyGrad32(float32(a.Alpha), float32(a.Gamma), x32, any(y).([]float32), any(g).([]float32), any(dx).([]float32))
		return
	}
	gm, ga := T(a.Gamma), T(a.Gamma*a.Alpha)
	for i, v := range x {
		if v > 0 {
			dx[i] = g[i] * gm
		} else {
			dx[i] = g[i] * (y[i] + ga) // d/dx ga(e^x-1) = ga e^x = y + ga
		}
	}
}

// Celu: max(0, x) + min(0, alpha*(e^(x/alpha) - 1)).
func celuF[T Floats](a *Act, x, y []T) {
	al := T(a.Alpha)
	for i, v := range x {
		if v < 0 {
			v = al * (expT(v/al) - 1)
		}
		y[i] = v
	}
}

func celuB[T Floats](a *Act, x, y, g, dx []T) {
	al := T(a.Alpha)
	for i, v := range x {
		if v < 0 {
			dx[i] = g[i] * (y[i]/al + 1) // e^(x/alpha)
		} else {
			dx[i] = g[i]
		}
	}
}

func sigmoidF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = sigmoidT(v)
	}
}

func sigmoidB[T Floats](_ *Act, x, y, g, dx []T) {
	for i := range x {
		dx[i] = g[i] * y[i] * (1 - y[i])
	}
}

func hardSigmoidF[T Floats](a *Act, x, y []T) {
	al, b := T(a.Alpha), T(a.Beta)
	for i, v := range x {
		y[i] = min(max(al*v+b, 0), 1)
	}
}

func hardSigmoidB[T Floats](a *Act, x, _, g, dx []T) {
	al, b := T(a.Alpha), T(a.Beta)
	for i, v := range x {
		if u := al*v + b; u > 0 && u < 1 {
			dx[i] = g[i] * al
		} else {
			dx[i] = 0
		}
	}
}

func hardSwishF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = v * min(max(v/6+0.5, 0), 1)
	}
}

func hardSwishB[T Floats](_ *Act, x, _, g, dx []T) {
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
}

func tanhF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = tanhT(v)
	}
}

func tanhB[T Floats](_ *Act, x, y, g, dx []T) {
	for i := range x {
		dx[i] = g[i] * (1 - y[i]*y[i])
	}
}

func softplusF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = T(softplus(float64(v)))
	}
}

func softplusB[T Floats](_ *Act, x, _, g, dx []T) {
	for i, v := range x {
		dx[i] = g[i] * sigmoidT(v)
	}
}

func softsignF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = v / (1 + T(math.Abs(float64(v))))
	}
}

func softsignB[T Floats](_ *Act, x, _, g, dx []T) {
	for i, v := range x {
		d := 1 + T(math.Abs(float64(v)))
		dx[i] = g[i] / (d * d)
	}
}

// geluC is sqrt(2/pi), the tanh approximation's constant.
var geluC = math.Sqrt(2 / math.Pi)

func geluF[T Floats](a *Act, x, y []T) {
	if a.Approx == "tanh" {
		for i, v := range x {
			u := float64(v)
			y[i] = T(0.5 * u * (1 + math.Tanh(geluC*(u+0.044715*u*u*u))))
		}
		return
	}
	for i, v := range x {
		u := float64(v)
		y[i] = T(0.5 * u * (1 + math.Erf(u/math.Sqrt2)))
	}
}

func geluB[T Floats](a *Act, x, _, g, dx []T) {
	if a.Approx == "tanh" {
		for i, v := range x {
			u := float64(v)
			t := math.Tanh(geluC * (u + 0.044715*u*u*u))
			d := 0.5*(1+t) + 0.5*u*(1-t*t)*geluC*(1+3*0.044715*u*u)
			dx[i] = g[i] * T(d)
		}
		return
	}
	for i, v := range x {
		u := float64(v)
		d := 0.5*(1+math.Erf(u/math.Sqrt2)) + u*math.Exp(-u*u/2)/math.Sqrt(2*math.Pi)
		dx[i] = g[i] * T(d)
	}
}

func mishF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		u := float64(v)
		y[i] = T(u * math.Tanh(math.Log1p(math.Exp(u))))
	}
}

func mishB[T Floats](_ *Act, x, _, g, dx []T) {
	for i, v := range x {
		u := float64(v)
		t := math.Tanh(softplus(u))
		dx[i] = g[i] * T(t+u*(1-t*t)*SigmoidF64(u))
	}
}

func erfF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = T(math.Erf(float64(v)))
	}
}

func erfB[T Floats](_ *Act, x, _, g, dx []T) {
	for i, v := range x {
		dx[i] = g[i] * T(2/math.SqrtPi*math.Exp(-float64(v)*float64(v)))
	}
}

func expF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = expT(v)
	}
}

func expB[T Floats](_ *Act, x, y, g, dx []T) {
	for i := range x {
		dx[i] = g[i] * y[i]
	}
}

func logF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = T(math.Log(float64(v)))
	}
}

func logB[T Floats](_ *Act, x, _, g, dx []T) {
	for i, v := range x {
		dx[i] = g[i] / v
	}
}

func sqrtF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = T(math.Sqrt(float64(v)))
	}
}

func sqrtB[T Floats](_ *Act, x, y, g, dx []T) {
	for i := range x {
		dx[i] = g[i] / (2 * y[i])
	}
}

func negF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = -v
	}
}

func negB[T Floats](_ *Act, _, _, g, dx []T) {
	for i, v := range g {
		dx[i] = -v
	}
}

func absF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = T(math.Abs(float64(v)))
	}
}

func absB[T Floats](_ *Act, x, _, g, dx []T) {
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
}

func recipF[T Floats](_ *Act, x, y []T) {
	for i, v := range x {
		y[i] = 1 / v
	}
}

func recipB[T Floats](_ *Act, x, y, g, dx []T) {
	for i := range x {
		dx[i] = -g[i] * y[i] * y[i]
	}
}

func threshF[T Floats](a *Act, x, y []T) {
	al := T(a.Alpha)
	for i, v := range x {
		if v <= al {
			v = 0
		}
		y[i] = v
	}
}

func threshB[T Floats](a *Act, x, _, g, dx []T) {
	al := T(a.Alpha)
	for i, v := range x {
		if v > al {
			dx[i] = g[i]
		} else {
			dx[i] = 0
		}
	}
}

func affineF[T Floats](a *Act, x, y []T) {
	al, b := T(a.Alpha), T(a.Beta)
	for i, v := range x {
		y[i] = al*v + b
	}
}

func affineB[T Floats](a *Act, x, _, g, dx []T) {
	al := T(a.Alpha)
	for i := range x {
		dx[i] = g[i] * al
	}
}

func clipF[T Floats](a *Act, x, y []T) {
	lo, hi := T(a.Alpha), T(a.Beta)
	for i, v := range x {
		y[i] = min(max(v, lo), hi)
	}
}

// clipB: as tf.clip_by_value, the gradient passes inside [min, max]
// inclusive.
func clipB[T Floats](a *Act, x, _, g, dx []T) {
	lo, hi := T(a.Alpha), T(a.Beta)
	for i, v := range x {
		if v >= lo && v <= hi {
			dx[i] = g[i]
		} else {
			dx[i] = 0
		}
	}
}

// eluFamily32 computes y = gamma*x for x > 0, gamma*alpha*(e**x - 1)
// otherwise (SELU; ELU with gamma 1), with ExpNeg written out in the loop
// (too large for the inliner; TestEluFamilyExpNeg checks it gives ExpNeg's
// bits).
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

// Ops lists the ONNX activations of the table, sorted.
func Ops() []string {
	var ops []string
	for op, a := range table {
		if !a.internalOnly {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	return ops
}
