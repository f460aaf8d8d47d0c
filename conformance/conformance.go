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
	"github.com/xferml/xfer/model"
)

// DefaultDir is where Debian's libonnx-testdata installs the node tests.
const DefaultDir = "/usr/share/libonnx-testdata/data/node"

// Tolerances of ONNX's backend test runner (onnx/backend/test/runner:
// rtol 1e-3, atol 1e-7).
const (
	ATol = 1e-7
	RTol = 1e-3
)

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
		have, err := modelOps(filepath.Join(dir, name, "model.onnx"))
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

// modelOps returns the op types of a model's graph.
func modelOps(path string) (map[string]bool, error) {
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

// Stages of a case.
const (
	StageImport  Stage = "import"
	StagePlan    Stage = "engine.New"
	StageData    Stage = "test data"
	StageRun     Stage = "engine.Run"
	StageCompare Stage = "compare"
)

// CaseError is the failure of one node test.
type CaseError struct {
	Test  string
	Stage Stage
	Err   error
}

func (e *CaseError) Error() string {
	return fmt.Sprintf("conformance: %s: %s: %v", e.Test, e.Stage, e.Err)
}

func (e *CaseError) Unwrap() error { return e.Err }

// RunCase runs the node test in dir (model.onnx and test_data_set_*) and
// returns nil when every output of every data set matches.
func RunCase(dir string) error {
	name := filepath.Base(dir)
	fail := func(st Stage, err error) error { return &CaseError{Test: name, Stage: st, Err: err} }
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
// initializer) and the reference outputs in graph output order.
type DataSet struct {
	Name    string
	Inputs  map[string]*model.Tensor
	Outputs []Ref
}

// DataSets reads the data sets of the node test in dir for model m.
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
			ds.Inputs[v.Name] = ins[i].t
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

// Ref is a reference tensor: its ONNX element type and, when xfer can hold
// it, its contents.
type Ref struct {
	dtype int32
	t     *model.Tensor
	err   error
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
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var tp pb.TensorProto
		if err := proto.Unmarshal(data, &tp); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		r := Ref{dtype: tp.GetDataType()}
		// Outputs must be FLOAT or INT64, the element types xfer holds;
		// inputs may also be FLOAT16, DOUBLE or BFLOAT16, which the
		// importer declares float32 (xfer computes in float32).
		widened := prefix == "input" && (r.dtype == 10 || r.dtype == 11 || r.dtype == 16)
		if r.dtype != 1 && r.dtype != 7 && !widened {
			r.err = fmt.Errorf("element type %s: xfer's engine holds float32 and int64", pb.TensorProto_DataType(r.dtype))
		} else {
			r.t, r.err = onnximp.TensorFromProto(&tp)
		}
		out = append(out, r)
	}
	return out, nil
}

// Compare checks got against a reference: presence, shape, element type,
// then values within ATol + RTol*|want|.
func Compare(got *model.Tensor, want Ref) error {
	if got == nil {
		return errors.New("missing")
	}
	if want.err != nil {
		return fmt.Errorf("reference: %w", want.err)
	}
	w := want.t
	if !slices.Equal(got.Shape, w.Shape) {
		return fmt.Errorf("shape %v; want %v", got.Shape, w.Shape)
	}
	if got.DType != w.DType {
		return fmt.Errorf("dtype %v; want %v", got.DType, w.DType)
	}
	if w.DType == model.Int64 {
		for i := range w.I64 {
			if got.I64[i] != w.I64[i] {
				return fmt.Errorf("[%d] = %d; want %d", i, got.I64[i], w.I64[i])
			}
		}
		return nil
	}
	if len(got.F32) != len(w.F32) {
		return fmt.Errorf("%d values; want %d", len(got.F32), len(w.F32))
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
