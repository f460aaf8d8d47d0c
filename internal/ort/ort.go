package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"

	"github.com/xferml/xfer/model"
)

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
	if opts.Threads > 0 {
		if so, err = ortgo.NewSessionOptions(); err != nil {
			return nil, fmt.Errorf("ort: %w", err)
		}
		defer so.Destroy()
		if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
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
		var t *model.Tensor
		switch v := outs[i].(type) {
		case *ortgo.Tensor[float32]:
			t = &model.Tensor{Name: info.Name, DType: model.Float32, Shape: intShape(v.GetShape()), F32: slices.Clone(v.GetData())}
		case *ortgo.Tensor[int64]:
			t = &model.Tensor{Name: info.Name, DType: model.Int64, Shape: intShape(v.GetShape()), I64: slices.Clone(v.GetData())}
		case *ortgo.Scalar[float32]:
			t = &model.Tensor{Name: info.Name, DType: model.Float32, Shape: []int{}, F32: []float32{v.GetData()}}
		case *ortgo.Scalar[int64]:
			t = &model.Tensor{Name: info.Name, DType: model.Int64, Shape: []int{}, I64: []int64{v.GetData()}}
		default:
			return nil, fmt.Errorf("ort: %s: output %q has type %T; xfer reads float32 and int64 tensors", s.path, info.Name, outs[i])
		}
		res[info.Name] = t
	}
	return res, nil
}

// newTensor copies t into an ONNX Runtime tensor. It returns a nil
// interface (not a typed nil) on error.
func newTensor(shape []int64, t *model.Tensor) (ortgo.Value, error) {
	if len(shape) == 0 { // onnxruntime_go refuses rank-0 tensors; scalars have their own type
		switch {
		case t.DType == model.Float32 && len(t.F32) == 1:
			v, err := ortgo.NewScalar(t.F32[0])
			if err != nil {
				return nil, err
			}
			return v, nil
		case t.DType == model.Int64 && len(t.I64) == 1:
			v, err := ortgo.NewScalar(t.I64[0])
			if err != nil {
				return nil, err
			}
			return v, nil
		}
		return nil, fmt.Errorf("scalar of dtype %v without exactly one value", t.DType)
	}
	switch t.DType {
	case model.Float32:
		v, err := ortgo.NewTensor(ortgo.NewShape(shape...), t.F32)
		if err != nil {
			return nil, err
		}
		return v, nil
	case model.Int64:
		v, err := ortgo.NewTensor(ortgo.NewShape(shape...), t.I64)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, fmt.Errorf("dtype %v", t.DType)
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
	s, err := NewSession(modelPath, Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Run(inputs)
}
