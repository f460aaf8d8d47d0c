package conformance

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/xferml/xfer/engine"
	onnximp "github.com/xferml/xfer/importers/onnx"
	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// Root is where Debian's libonnx-testdata installs ONNX's test models.
const Root = "/usr/share/libonnx-testdata/data"

// DefaultDir is the folder of ONNX's node tests.
const DefaultDir = Root + "/node"

// Suites are the folders of Root: ONNX's node tests, the PyTorch-converted
// models and operators, and the "simple" models.
var Suites = []string{"node", "pytorch-converted", "pytorch-operator", "simple"}

// Tolerances of ONNX's backend test runner (onnx/backend/test/runner:
// rtol 1e-3, atol 1e-7).
const (
	ATol = 1e-7
	RTol = 1e-3
)

// All returns every test under root, as "suite/test_name" for each suite
// of Suites, sorted. A missing suite folder is an error.
func All(root string) ([]string, error) {
	var out []string
	for _, suite := range Suites {
		entries, err := os.ReadDir(filepath.Join(root, suite))
		if err != nil {
			return nil, fmt.Errorf("conformance: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), "test_") {
				out = append(out, suite+"/"+e.Name())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Ops lists the operators issue 3 requires, with the name stems their node
// tests use (test_<stem> or test_<stem>_...).
var Ops = map[string][]string{
	"Gemm": {"gemm"}, "MatMul": {"matmul"}, "Add": {"add"}, "Sub": {"sub"}, "Mul": {"mul"},
	"Div": {"div"}, "Relu": {"relu"}, "LeakyRelu": {"leakyrelu"}, "PRelu": {"prelu"},
	"Elu": {"elu"}, "Selu": {"selu"}, "Sigmoid": {"sigmoid"}, "HardSigmoid": {"hardsigmoid"},
	"Tanh": {"tanh"}, "Softmax": {"softmax"}, "LogSoftmax": {"logsoftmax"},
	"Softplus": {"softplus"}, "Softsign": {"softsign"}, "Clip": {"clip"}, "Exp": {"exp"},
	"Log": {"log"}, "Sqrt": {"sqrt"}, "Neg": {"neg"}, "Flatten": {"flatten"},
	"Reshape": {"reshape"}, "Transpose": {"transpose"}, "Squeeze": {"squeeze"},
	"Unsqueeze": {"unsqueeze"}, "Concat": {"concat"}, "Identity": {"identity"},
	"Dropout": {"dropout"}, "BatchNormalization": {"batchnorm"}, "Conv": {"conv", "basic_conv"},
	"MaxPool": {"maxpool"}, "AveragePool": {"averagepool"},
	"GlobalAveragePool": {"globalaveragepool"}, "GlobalMaxPool": {"globalmaxpool"},
	"Pad": {"pad", "constant_pad", "edge_pad", "reflect_pad"}, "Constant": {"constant"},
	"Shape": {"shape"}, "Gather": {"gather"}, "Cast": {"cast"}, "ReduceMean": {"reduce_mean"},
	"Sum": {"sum"},
}

// Selected returns the names of the node tests under dir that exercise an
// operator of Ops: the name is test_<stem> or test_<stem>_..., and the
// model has a node of that op (test_gather_elements_0 names Gather's stem
// but runs GatherElements, so it is not selected) or is the op's expansion
// into a function body (test_softmax_axis_0_expanded).
func Selected(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, "test_") {
			continue
		}
		var ops []string
		for op, stems := range Ops {
			for _, s := range stems {
				if name == "test_"+s || strings.HasPrefix(name, "test_"+s+"_") {
					ops = append(ops, op)
				}
			}
		}
		if len(ops) == 0 {
			continue
		}
		have, err := ModelOps(filepath.Join(dir, name, "model.onnx"))
		if err != nil {
			return nil, err
		}
		// An _expanded test runs the op's function body (Softmax as
		// ReduceMax, Sub, Exp, ReduceSum, Div, with Constant axes): the
		// op's semantics in smaller ops, selected with its op's tests.
		expanded := strings.HasSuffix(name, "_expanded") && len(have) > 0
		for _, op := range ops {
			if have[op] || expanded {
				out = append(out, name)
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ModelOps returns the op types of a model's main graph.
func ModelOps(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	var mp pb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("conformance: %s: %w", path, err)
	}
	ops := map[string]bool{}
	for _, n := range mp.GetGraph().GetNode() {
		ops[n.GetOpType()] = true
	}
	return ops, nil
}

// Stage says where a case failed.
type Stage string

// Stages of a case. A failure at StageCompare is a wrong answer; a
// StageCrash is a panic or an engine "internal error"; the others are
// refusals (an error saying what xfer does not do).
const (
	StageImport  Stage = "import"
	StagePlan    Stage = "engine.New"
	StageData    Stage = "test data"
	StageRun     Stage = "engine.Run"
	StageCompare Stage = "compare"
	StageCrash   Stage = "crash"
)

// CaseError is the failure of one test.
type CaseError struct {
	Test  string
	Stage Stage
	Err   error
}

func (e *CaseError) Error() string {
	return fmt.Sprintf("conformance: %s: %s: %v", e.Test, e.Stage, e.Err)
}

func (e *CaseError) Unwrap() error { return e.Err }

// RunCase runs the test in dir (model.onnx and test_data_set_*) the way
// `xfer predict` does (importers/onnx, engine.New, tensorio for the .pb
// files, tensorio.As to the inputs' dtypes) and returns nil when every
// output of every data set matches. A panic anywhere becomes a CaseError
// at StageCrash, as does an engine error reporting an internal error.
func RunCase(dir string) (err error) {
	name := filepath.Base(dir)
	fail := func(st Stage, err error) error {
		if st != StageCompare && strings.Contains(err.Error(), "internal error") {
			st = StageCrash
		}
		return &CaseError{Test: name, Stage: st, Err: err}
	}
	defer func() {
		if r := recover(); r != nil {
			err = &CaseError{Test: name, Stage: StageCrash, Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	m, err := onnximp.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return fail(StageImport, err)
	}
	s, err := engine.New(m)
	if err != nil {
		return fail(StagePlan, err)
	}
	sets, err := DataSets(dir, m)
	if err != nil {
		return fail(StageData, err)
	}
	for _, set := range sets {
		got, err := s.Run(set.Inputs)
		if err != nil {
			return fail(StageRun, fmt.Errorf("%s: %w", set.Name, err))
		}
		if len(set.Outputs) != len(m.Outputs) {
			return fail(StageCompare, fmt.Errorf("%s: %d outputs; want %d", set.Name, len(m.Outputs), len(set.Outputs)))
		}
		for i, o := range m.Outputs {
			if err := Compare(got[o], set.Outputs[i]); err != nil {
				return fail(StageCompare, fmt.Errorf("%s: output %d %q: %w", set.Name, i, o, err))
			}
		}
	}
	return nil
}

// DataSet is one test_data_set_* folder: inputs keyed by the model's graph
// input names (input_i.pb is the i-th graph input that is not an
// initializer, as ONNX's runner binds them) and the reference outputs in
// graph output order.
type DataSet struct {
	Name    string
	Inputs  map[string]*model.Tensor
	Outputs []Ref
}

// DataSets reads the data sets of the test in dir for model m. Inputs are
// read with tensorio and converted to the graph inputs' dtypes with
// tensorio.As, as `xfer predict` does.
func DataSets(dir string, m *model.Model) ([]DataSet, error) {
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return nil, errors.New("no test_data_set_* folder")
	}
	sort.Strings(sets)
	var out []DataSet
	for _, set := range sets {
		ds := DataSet{Name: filepath.Base(set), Inputs: map[string]*model.Tensor{}}
		ins, err := readTensors(set, "input")
		if err != nil {
			return nil, err
		}
		if len(ins) != len(m.Inputs) {
			return nil, fmt.Errorf("%s: %d input files for %d graph inputs", ds.Name, len(ins), len(m.Inputs))
		}
		for i, v := range m.Inputs {
			if ins[i].err != nil {
				return nil, fmt.Errorf("%s: input %d: %w", ds.Name, i, ins[i].err)
			}
			t, err := tensorio.As(ins[i].t, v.DType)
			if err != nil {
				return nil, fmt.Errorf("%s: input %d: %w", ds.Name, i, err)
			}
			ds.Inputs[v.Name] = t
		}
		if ds.Outputs, err = readTensors(set, "output"); err != nil {
			return nil, err
		}
		out = append(out, ds)
	}
	return out, nil
}

// Expected reads a list of test names, one per line ('#' comments, text
// after a tab ignored).
func Expected(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		name, _, _ := strings.Cut(line, "\t")
		if name = strings.TrimSpace(name); name != "" && !strings.HasPrefix(name, "#") {
			out = append(out, name)
		}
	}
	return out, nil
}

// Ref is a reference tensor as tensorio reads it, or the error reading it
// gave (a sequence, a string tensor).
type Ref struct {
	t   *model.Tensor
	err error
}

// readTensors reads <prefix>_0.pb, <prefix>_1.pb, ... in numeric order.
func readTensors(set, prefix string) ([]Ref, error) {
	files, _ := filepath.Glob(filepath.Join(set, prefix+"_*.pb"))
	idx := func(p string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), prefix+"_"), ".pb"))
		return n
	}
	slices.SortFunc(files, func(a, b string) int { return idx(a) - idx(b) })
	var out []Ref
	for _, p := range files {
		t, err := tensorio.ReadFile(p)
		out = append(out, Ref{t: t, err: err})
	}
	return out, nil
}

// Compare checks got against a reference: presence, shape, element type,
// then values: integers and bool exactly, floats within
// ATol + RTol*|want| (NaN matches NaN, an infinity itself).
func Compare(got *model.Tensor, want Ref) error {
	if got == nil {
		return errors.New("missing")
	}
	if want.err != nil {
		return fmt.Errorf("reference: %w", want.err)
	}
	w := want.t
	if got.DType == model.BFloat16 && w.DType == model.Uint16 {
		// onnx 1.12 stores bfloat16 references as uint16 bit patterns and
		// its runner compares those arrays as numbers (with the tolerance
		// below): compare the same way.
		bits := &model.Tensor{DType: model.Uint16, Shape: got.Shape, I64: make([]int64, len(got.F32))}
		for i, v := range got.F32 {
			bits.I64[i] = int64(model.BFloat16Bits(v))
		}
		got = bits
		return compareValues(got, w, true)
	}
	return compareValues(got, w, false)
}

// compareValues compares shape, dtype and values; integers exactly unless
// intTol, then with the float rule.
func compareValues(got, w *model.Tensor, intTol bool) error {
	if !slices.Equal(got.Shape, w.Shape) {
		return fmt.Errorf("shape %v; want %v", got.Shape, w.Shape)
	}
	if got.DType != w.DType {
		return fmt.Errorf("dtype %v; want %v", got.DType, w.DType)
	}
	if len(got.F32) != len(w.F32) || len(got.I64) != len(w.I64) {
		return fmt.Errorf("%d values; want %d", len(got.F32)+len(got.I64), len(w.F32)+len(w.I64))
	}
	for i := range w.I64 {
		g, x := got.I64[i], w.I64[i]
		if g != x && !(intTol && math.Abs(float64(g-x)) <= ATol+RTol*math.Abs(float64(x))) {
			return fmt.Errorf("[%d] = %d; want %d", i, g, x)
		}
	}
	for i := range w.F32 {
		g, x := float64(got.F32[i]), float64(w.F32[i])
		if math.IsNaN(x) && math.IsNaN(g) || g == x {
			continue
		}
		if !(math.Abs(g-x) <= ATol+RTol*math.Abs(x)) {
			return fmt.Errorf("[%d] = %g; want %g (|diff| %g > %g)", i, g, x, math.Abs(g-x), ATol+RTol*math.Abs(x))
		}
	}
	return nil
}
