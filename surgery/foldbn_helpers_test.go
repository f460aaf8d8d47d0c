package surgery

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"

	"github.com/xferml/xfer/model"
)

// The builders below hand-build layers the way package layers and the
// importers express them (see layers/batchnorm.go, layers/conv.go), so that
// FoldBN's node analysis is tested on every layout it must handle.

func randVec(rng *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return v
}

func param(layer, role string, shape []int, data []float32, state bool) *model.Param {
	return &model.Param{Name: layer + "/" + role, Role: role, Shape: shape, Data: data, Trainable: !state, State: state}
}

// bnLayer is a BatchNormalization over the channel axis: for rank > 2 with
// channelsLast, the input is transposed to channels-first around the ONNX op
// (as layers.BatchNormalization does); otherwise the op reads the input
// directly (axis 1). keras adds a Keras config naming axis and epsilon.
func bnLayer(rng *rand.Rand, name, in string, c, rank int, channelsLast bool, eps float32, keras bool) *model.Layer {
	l := &model.Layer{Name: name, Kind: "BatchNormalization", Inputs: []string{in}, Trainable: true}
	l.Params = []*model.Param{
		param(name, "gamma", []int{c}, randVec(rng, c, 0.5, 1.5), false),
		param(name, "beta", []int{c}, randVec(rng, c, -1, 1), false),
		param(name, "moving_mean", []int{c}, randVec(rng, c, -1, 1), true),
		param(name, "moving_variance", []int{c}, randVec(rng, c, 0.2, 2), true),
	}
	x := in
	if rank > 2 && channelsLast {
		perm := []int64{0, int64(rank - 1)}
		for i := 1; i < rank-1; i++ {
			perm = append(perm, int64(i))
		}
		x = name + "/to_nchw:0"
		l.Nodes = append(l.Nodes, &model.Node{Name: name + "/to_nchw", Op: "Transpose", Inputs: []string{in}, Outputs: []string{x}, Attrs: map[string]model.Attr{"perm": model.Ints(perm...)}})
	}
	y := name + "/bn:0"
	l.Nodes = append(l.Nodes, &model.Node{Name: name + "/bn", Op: "BatchNormalization",
		Inputs: []string{x, l.Params[0].Name, l.Params[1].Name, l.Params[2].Name, l.Params[3].Name}, Outputs: []string{y},
		Attrs: map[string]model.Attr{"epsilon": model.Float(eps), "momentum": model.Float(0.99)}})
	if rank > 2 && channelsLast {
		perm := []int64{0}
		for i := 2; i < rank; i++ {
			perm = append(perm, int64(i))
		}
		perm = append(perm, 1)
		out := name + "/to_nhwc:0"
		l.Nodes = append(l.Nodes, &model.Node{Name: name + "/to_nhwc", Op: "Transpose", Inputs: []string{y}, Outputs: []string{out}, Attrs: map[string]model.Attr{"perm": model.Ints(perm...)}})
		y = out
	}
	l.Outputs = []string{y}
	if keras {
		l.Config = json.RawMessage(fmt.Sprintf(`{"name":%q,"trainable":true,"axis":-1,"momentum":0.99,"epsilon":%g,"center":true,"scale":true}`, name, eps))
	}
	return l
}

// kerasConv2D is a Keras Conv2D on NHWC input, valid padding, stride 1:
// kernel [kh, kw, in, out] through Transpose perm [3 2 0 1] to OIHW, bias as
// the Conv's third input, the output transposed back to NHWC.
func kerasConv2D(rng *rand.Rand, name, in string, k, cin, cout int, useBias bool, act string) *model.Layer {
	l := &model.Layer{Name: name, Kind: "Conv2D", Inputs: []string{in}, Trainable: true}
	kernel := param(name, "kernel", []int{k, k, cin, cout}, randVec(rng, k*k*cin*cout, -0.5, 0.5), false)
	l.Params = []*model.Param{kernel}
	node := func(op string, ins []string, attrs map[string]model.Attr) string {
		out := fmt.Sprintf("%s/%s_%d:0", name, op, len(l.Nodes))
		l.Nodes = append(l.Nodes, &model.Node{Name: out[:len(out)-2], Op: op, Inputs: ins, Outputs: []string{out}, Attrs: attrs})
		return out
	}
	x := node("Transpose", []string{in}, map[string]model.Attr{"perm": model.Ints(0, 3, 1, 2)})
	w := node("Transpose", []string{kernel.Name}, map[string]model.Attr{"perm": model.Ints(3, 2, 0, 1)})
	ins := []string{x, w}
	if useBias {
		b := param(name, "bias", []int{cout}, randVec(rng, cout, -1, 1), false)
		l.Params = append(l.Params, b)
		ins = append(ins, b.Name)
	}
	y := node("Conv", ins, map[string]model.Attr{"kernel_shape": model.Ints(int64(k), int64(k)), "pads": model.Ints(0, 0, 0, 0), "strides": model.Ints(1, 1)})
	y = node("Transpose", []string{y}, map[string]model.Attr{"perm": model.Ints(0, 2, 3, 1)})
	if act == "relu" {
		y = node("Relu", []string{y}, nil)
	}
	l.Outputs = []string{y}
	l.Config = json.RawMessage(fmt.Sprintf(`{"name":%q,"trainable":true,"filters":%d,"kernel_size":[%d,%d],"activation":%q,"use_bias":%v}`, name, cout, k, k, act, useBias))
	return l
}

// onnxConv is a raw ONNX Conv on NCHW input with an OIHW weight.
func onnxConv(rng *rand.Rand, name, in string, k, cin, cout int, useBias bool) *model.Layer {
	l := &model.Layer{Name: name, Kind: "Conv", Inputs: []string{in}, Outputs: []string{name + ":0"}, Trainable: true}
	w := param(name, "kernel", []int{cout, cin, k, k}, randVec(rng, k*k*cin*cout, -0.5, 0.5), false)
	l.Params = []*model.Param{w}
	ins := []string{in, w.Name}
	if useBias {
		b := param(name, "bias", []int{cout}, randVec(rng, cout, -1, 1), false)
		l.Params = append(l.Params, b)
		ins = append(ins, b.Name)
	}
	l.Nodes = []*model.Node{{Name: name, Op: "Conv", Inputs: ins, Outputs: l.Outputs, Attrs: map[string]model.Attr{"kernel_shape": model.Ints(int64(k), int64(k))}}}
	return l
}

// gemmLayer is a PyTorch Linear exported to ONNX: weight [out, in], Gemm
// transB=1, with Gemm's alpha and beta.
func gemmLayer(rng *rand.Rand, name, in string, inF, out int, useBias bool, alpha, beta float32) *model.Layer {
	l := &model.Layer{Name: name, Kind: "Gemm", Inputs: []string{in}, Outputs: []string{name + ":0"}, Trainable: true}
	w := param(name, "kernel", []int{out, inF}, randVec(rng, out*inF, -0.5, 0.5), false)
	l.Params = []*model.Param{w}
	ins := []string{in, w.Name}
	if useBias {
		b := param(name, "bias", []int{out}, randVec(rng, out, -1, 1), false)
		l.Params = append(l.Params, b)
		ins = append(ins, b.Name)
	}
	l.Nodes = []*model.Node{{Name: name, Op: "Gemm", Inputs: ins, Outputs: l.Outputs,
		Attrs: map[string]model.Attr{"transB": model.Int(1), "alpha": model.Float(alpha), "beta": model.Float(beta)}}}
	return l
}

// ---- reference forward passes, in float64, from the params alone ----

// tensor64 is a dense array with a shape.
type tensor64 struct {
	shape []int
	data  []float64
}

func f64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// refDense computes x [n, in] @ kernel + bias; transposed says kernel is
// [out, in] (PyTorch), else [in, out] (Keras). alpha and beta as Gemm's.
func refDense(x tensor64, kernel *model.Param, bias *model.Param, transposed bool, alpha, beta float64) tensor64 {
	n, in := x.shape[0], x.shape[1]
	out := kernel.Shape[1]
	if transposed {
		out = kernel.Shape[0]
	}
	y := tensor64{shape: []int{n, out}, data: make([]float64, n*out)}
	for i := range n {
		for o := range out {
			s := 0.0
			for k := range in {
				w := kernel.Data[k*out+o]
				if transposed {
					w = kernel.Data[o*in+k]
				}
				s += x.data[i*in+k] * float64(w)
			}
			s *= alpha
			if bias != nil {
				s += beta * float64(bias.Data[o])
			}
			y.data[i*out+o] = s
		}
	}
	return y
}

// refConv computes a stride-1 valid convolution. nhwc: x [n,h,w,c] with
// kernel [k,k,in,out] (Keras); else x [n,c,h,w] with kernel [out,in,k,k].
func refConv(x tensor64, kernel, bias *model.Param, nhwc bool) tensor64 {
	var n, h, w, cin, cout, k int
	if nhwc {
		n, h, w, cin = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
		k, cout = kernel.Shape[0], kernel.Shape[3]
	} else {
		n, cin, h, w = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
		k, cout = kernel.Shape[2], kernel.Shape[0]
	}
	oh, ow := h-k+1, w-k+1
	at := func(b, c, i, j int) float64 {
		if nhwc {
			return x.data[((b*h+i)*w+j)*cin+c]
		}
		return x.data[((b*cin+c)*h+i)*w+j]
	}
	wt := func(o, c, i, j int) float64 {
		if nhwc {
			return float64(kernel.Data[((i*k+j)*cin+c)*cout+o])
		}
		return float64(kernel.Data[((o*cin+c)*k+i)*k+j])
	}
	y := tensor64{data: make([]float64, n*oh*ow*cout)}
	if nhwc {
		y.shape = []int{n, oh, ow, cout}
	} else {
		y.shape = []int{n, cout, oh, ow}
	}
	for b := range n {
		for o := range cout {
			for i := range oh {
				for j := range ow {
					s := 0.0
					if bias != nil {
						s = float64(bias.Data[o])
					}
					for c := range cin {
						for di := range k {
							for dj := range k {
								s += at(b, c, i+di, j+dj) * wt(o, c, di, dj)
							}
						}
					}
					if nhwc {
						y.data[((b*oh+i)*ow+j)*cout+o] = s
					} else {
						y.data[((b*cout+o)*oh+i)*ow+j] = s
					}
				}
			}
		}
	}
	return y
}

// refBN applies inference batch normalisation along axis of x.
func refBN(x tensor64, l *model.Layer, axis int, eps float64) tensor64 {
	g, b := f64s(l.Param("gamma").Data), f64s(l.Param("beta").Data)
	m, v := f64s(l.Param("moving_mean").Data), f64s(l.Param("moving_variance").Data)
	stride := 1
	for _, d := range x.shape[axis+1:] {
		stride *= d
	}
	c := x.shape[axis]
	y := tensor64{shape: x.shape, data: make([]float64, len(x.data))}
	for i, val := range x.data {
		ch := (i / stride) % c
		y.data[i] = (val-m[ch])/math.Sqrt(v[ch]+eps)*g[ch] + b[ch]
	}
	return y
}

func randTensor(rng *rand.Rand, shape ...int) tensor64 {
	t := tensor64{shape: shape, data: make([]float64, model.NumElements(shape))}
	for i := range t.data {
		t.data[i] = rng.NormFloat64()
	}
	return t
}

func maxDiff(a, b tensor64) float64 {
	d := 0.0
	for i := range a.data {
		d = math.Max(d, math.Abs(a.data[i]-b.data[i]))
	}
	return d
}
