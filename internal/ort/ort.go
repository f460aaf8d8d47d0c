package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// ErrType reports a tensor of an element type this package cannot pass to
// or take from ONNX Runtime (float16 and bfloat16 outputs, 16-bit scalars).
var ErrType = fmt.Errorf("ort: element type %w", model.ErrUnsupported)

// ErrNotInstalled reports that libonnxruntime.so was not found.
var ErrNotInstalled = errors.New("ort: ONNX Runtime library not found")

var (
	initOnce sync.Once
	initErr  error
	libPath  string
)

// installHint says how to get the library.
const installHint = "install it from the repository root with `ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save onnxruntime-node@1.30.0`, or set XFER_ORT_LIB to the path of libonnxruntime.so"

// Library returns the path of the library Init loads (or would load).
func Library() (string, error) {
	if p := os.Getenv("XFER_ORT_LIB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: XFER_ORT_LIB=%s: %w", ErrNotInstalled, p, err)
		}
		return p, nil
	}
	var starts []string
	if dir, err := os.Getwd(); err == nil {
		starts = append(starts, dir)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			pattern := filepath.Join(dir, "node_modules", "onnxruntime-node", "bin", "napi-v*", "linux", "x64", "libonnxruntime.so*")
			if found, _ := filepath.Glob(pattern); len(found) > 0 {
				sort.Strings(found)
				return found[len(found)-1], nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("%w; %s", ErrNotInstalled, installHint)
}

// Init loads ONNX Runtime once per process. Later calls return the first
// call's result.
func Init() error {
	initOnce.Do(func() {
		p, err := Library()
		if err != nil {
			initErr = err
			return
		}
		libPath = p
		ortgo.SetSharedLibraryPath(p)
		if err := ortgo.InitializeEnvironment(); err != nil {
			initErr = fmt.Errorf("ort: loading %s: %w", p, err)
		}
	})
	return initErr
}

// Version returns ONNX Runtime's version string; Init must have succeeded.
func Version() string { return ortgo.GetVersion() }

// Session is an ONNX Runtime session on one model file.
type Session struct {
	path    string
	inputs  []ortgo.InputOutputInfo
	outputs []ortgo.InputOutputInfo
	s       *ortgo.DynamicAdvancedSession
}

// Options controls a session.
type Options struct {
	// Threads is ONNX Runtime's intra-op thread count; 0 leaves its default
	// (one per core).
	Threads int
	// NoOptimizations turns ONNX Runtime's graph optimizations off
	// (ORT_DISABLE_ALL): its numbers then follow the file's ops as written.
	// Its L1 PadFusion folds a zero Pad into a following MaxPool, which
	// changes the result where a window's real values are all negative
	// (microsoft/onnxruntime#18136; keras.applications ResNet50V2 meets it).
	NoOptimizations bool
}

// NewSession opens modelPath in ONNX Runtime, calling Init first.
func NewSession(modelPath string, opts Options) (*Session, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	ins, outs, err := ortgo.GetInputOutputInfo(modelPath)
	if err != nil {
		return nil, fmt.Errorf("ort: %s: %w", modelPath, err)
	}
	var so *ortgo.SessionOptions
	if opts.Threads > 0 || opts.NoOptimizations {
		if so, err = ortgo.NewSessionOptions(); err != nil {
			return nil, fmt.Errorf("ort: %w", err)
		}
		defer so.Destroy()
	}
	if opts.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
			return nil, fmt.Errorf("ort: %w", err)
		}
	}
	if opts.NoOptimizations {
		if err := so.SetGraphOptimizationLevel(ortgo.GraphOptimizationLevelDisableAll); err != nil {
			return nil, fmt.Errorf("ort: %w", err)
		}
	}
	names := func(info []ortgo.InputOutputInfo) []string {
		var n []string
		for _, i := range info {
			n = append(n, i.Name)
		}
		return n
	}
	s, err := ortgo.NewDynamicAdvancedSession(modelPath, names(ins), names(outs), so)
	if err != nil {
		return nil, fmt.Errorf("ort: %s: %w", modelPath, err)
	}
	return &Session{path: modelPath, inputs: ins, outputs: outs, s: s}, nil
}

// Close releases the session.
func (s *Session) Close() error {
	if err := s.s.Destroy(); err != nil {
		return fmt.Errorf("ort: %s: %w", s.path, err)
	}
	return nil
}

// Run runs the model on inputs keyed by graph input name and returns the
// outputs keyed by graph output name.
func (s *Session) Run(inputs map[string]*model.Tensor) (map[string]*model.Tensor, error) {
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("ort: %s: model takes %d inputs, got %d", s.path, len(s.inputs), len(inputs))
	}
	ins := make([]ortgo.Value, len(s.inputs))
	defer func() {
		for _, v := range ins {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, info := range s.inputs {
		t, ok := inputs[info.Name]
		if !ok {
			return nil, fmt.Errorf("ort: %s: no tensor for input %q", s.path, info.Name)
		}
		shape := make([]int64, len(t.Shape))
		for k, d := range t.Shape {
			shape[k] = int64(d)
		}
		v, err := newTensor(shape, t)
		if err != nil {
			return nil, fmt.Errorf("ort: %s: input %q: %w", s.path, info.Name, err)
		}
		ins[i] = v
	}
	for _, info := range s.outputs {
		if info.DataType == ortgo.TensorElementDataTypeFloat16 || info.DataType == ortgo.TensorElementDataTypeBFloat16 {
			// onnxruntime_go v1.27 copies one byte per element of the
			// 16-bit outputs it allocates and then fails.
			return nil, fmt.Errorf("ort: %s: output %q: %w: float16 and bfloat16 outputs (onnxruntime_go cannot return them)", s.path, info.Name, ErrType)
		}
	}
	outs := make([]ortgo.Value, len(s.outputs))
	if err := s.s.Run(ins, outs); err != nil {
		return nil, fmt.Errorf("ort: %s: %w", s.path, err)
	}
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	res := map[string]*model.Tensor{}
	for i, info := range s.outputs {
		t, err := fromValue(outs[i])
		if err != nil {
			return nil, fmt.Errorf("ort: %s: output %q: %w", s.path, info.Name, err)
		}
		t.Name = info.Name
		res[info.Name] = t
	}
	return res, nil
}

// fromValue copies an ONNX Runtime tensor or scalar into a model.Tensor
// of the same element type.
func fromValue(v ortgo.Value) (*model.Tensor, error) {
	switch v := v.(type) {
	case *ortgo.Tensor[float32]:
		return floats(model.Float32, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[float64]:
		return floats(model.Float64, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[int64]:
		return ints(model.Int64, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[int32]:
		return ints(model.Int32, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[int16]:
		return ints(model.Int16, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[int8]:
		return ints(model.Int8, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[uint64]:
		return ints(model.Uint64, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[uint32]:
		return ints(model.Uint32, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[uint16]:
		return ints(model.Uint16, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[uint8]:
		return ints(model.Uint8, v.GetShape(), v.GetData()), nil
	case *ortgo.Tensor[bool]:
		return bools(v.GetShape(), v.GetData()), nil
	case *ortgo.Scalar[float32]:
		return floats(model.Float32, nil, []float32{v.GetData()}), nil
	case *ortgo.Scalar[float64]:
		return floats(model.Float64, nil, []float64{v.GetData()}), nil
	case *ortgo.Scalar[int64]:
		return ints(model.Int64, nil, []int64{v.GetData()}), nil
	case *ortgo.Scalar[int32]:
		return ints(model.Int32, nil, []int32{v.GetData()}), nil
	case *ortgo.Scalar[uint8]:
		return ints(model.Uint8, nil, []uint8{v.GetData()}), nil
	case *ortgo.Scalar[bool]:
		return bools(nil, []bool{v.GetData()}), nil
	}
	return nil, fmt.Errorf("%w: value of type %T", ErrType, v)
}

func floats[T float32 | float64](dt model.DType, shape ortgo.Shape, v []T) *model.Tensor {
	t := &model.Tensor{DType: dt, Shape: intShape(shape), F32: make([]float32, len(v))}
	for i, x := range v {
		t.F32[i] = float32(x)
	}
	return t
}

func ints[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](dt model.DType, shape ortgo.Shape, v []T) *model.Tensor {
	t := &model.Tensor{DType: dt, Shape: intShape(shape), I64: make([]int64, len(v))}
	for i, x := range v {
		t.I64[i] = int64(x)
	}
	return t
}

func bools(shape ortgo.Shape, v []bool) *model.Tensor {
	t := &model.Tensor{DType: model.Bool, Shape: intShape(shape), I64: make([]int64, len(v))}
	for i, x := range v {
		if x {
			t.I64[i] = 1
		}
	}
	return t
}

// newTensor copies t into an ONNX Runtime tensor of t's element type (a
// Scalar for rank 0, which onnxruntime_go keeps apart). It returns a nil
// interface (not a typed nil) on error.
func newTensor(shape []int64, t *model.Tensor) (ortgo.Value, error) {
	if n := model.NumElements(t.Shape); n < 0 || n != len(t.F32)+len(t.I64) {
		return nil, fmt.Errorf("shape %v with %d values", t.Shape, len(t.F32)+len(t.I64))
	}
	switch t.DType {
	case model.Float32:
		return typed(shape, t.F32)
	case model.Float64:
		return typed(shape, conv[float64](t.F32))
	case model.Int64:
		return typed(shape, t.I64)
	case model.Int32:
		return typed(shape, conv[int32](t.I64))
	case model.Int16:
		return typed(shape, conv[int16](t.I64))
	case model.Int8:
		return typed(shape, conv[int8](t.I64))
	case model.Uint64:
		return typed(shape, conv[uint64](t.I64))
	case model.Uint32:
		return typed(shape, conv[uint32](t.I64))
	case model.Uint16:
		return typed(shape, conv[uint16](t.I64))
	case model.Uint8:
		return typed(shape, conv[uint8](t.I64))
	case model.Bool:
		b := make([]bool, len(t.I64))
		for i, v := range t.I64 {
			b[i] = v != 0
		}
		return typed(shape, b)
	case model.Float16, model.BFloat16:
		if len(shape) == 0 || len(t.F32) == 0 {
			return nil, fmt.Errorf("%w: %v tensor of shape %v (onnxruntime_go takes them as raw bytes, which needs a rank and data)", ErrType, t.DType, t.Shape)
		}
		tp, err := tensorio.ToProto(t)
		if err != nil {
			return nil, err
		}
		v, err := ortgo.NewCustomDataTensor(ortgo.NewShape(shape...), tp.RawData, ortgo.TensorElementDataType(t.DType.ONNX()))
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: dtype %v", ErrType, t.DType)
}

// typed makes a tensor (or, for rank 0, a scalar) of Go element type T.
func typed[T ortgo.TensorData](shape []int64, v []T) (ortgo.Value, error) {
	if len(shape) == 0 {
		s, err := ortgo.NewScalar(v[0])
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	x, err := ortgo.NewTensor(ortgo.NewShape(shape...), v)
	if err != nil {
		return nil, err
	}
	return x, nil
}

func conv[T int8 | int16 | int32 | uint8 | uint16 | uint32 | uint64 | float64, S int64 | float32](v []S) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

func intShape(s ortgo.Shape) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}

// Run opens modelPath, runs it once on inputs and closes it.
func Run(modelPath string, inputs map[string]*model.Tensor) (map[string]*model.Tensor, error) {
	return RunWith(modelPath, inputs, Options{})
}

// RunWith is Run with session options.
func RunWith(modelPath string, inputs map[string]*model.Tensor, opts Options) (map[string]*model.Tensor, error) {
	s, err := NewSession(modelPath, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Run(inputs)
}
