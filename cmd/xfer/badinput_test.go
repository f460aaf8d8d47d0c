package main

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// mlpIn is a one-layer Keras-style model (in -> 2, softmax) with fixed
// weights, for inputs that must not fit mlp's 4 features.
func mlpIn(t *testing.T, in int) *model.Model {
	t.Helper()
	k := make([]float32, in*2)
	for i := range k {
		k[i] = float32(i%5)/10 - 0.2
	}
	d, err := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: in, Units: 2, Activation: "softmax", UseBias: true, Trainable: true,
		Kernel: k, Bias: []float32{0.1, -0.1}})
	if err != nil {
		t.Fatal(err)
	}
	return &model.Model{Name: "mlp_in", Opset: model.DefaultOpset, Sequential: true,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, in}}},
		Outputs: d.Outputs, Layers: []*model.Layer{d}, Meta: map[string]string{}}
}

// writeNPY writes t as .npy to dir/name and returns the path.
func writeNPY(t *testing.T, dir, name string, tt *model.Tensor) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := tensorio.WriteNPY(p, tt); err != nil {
		t.Fatal(err)
	}
	return p
}

// rawNPY writes a version-1 .npy file with the given dtype descriptor and
// data (numpy/lib/format.py: magic, header length, dict padded to 64 bytes).
func rawNPY(t *testing.T, dir, name, descr string, shape []int, data []byte) string {
	t.Helper()
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	b = append(append(b, h...), data...)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeBytes(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hashTree returns the sha256 of every file under dir, by relative path.
func hashTree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBadInput drives the real command with bad files, flags and data: each
// must end with the right exit status (2 usage, 1 runtime) and exactly one
// stderr line "xfer: ..." naming the problem, write no file (no partial
// output, no temporary left behind) and modify no input.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeModel(t, dir, "m.h5", mlp(t)) // input x [-1, 4], output 2 (softmax)
	writeModel(t, dir, "m.onnx", mlp(t))
	writeModel(t, dir, "m.keras", mlp(t))
	three := writeModel(t, dir, "three.h5", mlpIn(t, 3)) // input x [-1, 3]
	if err := os.Mkdir(filepath.Join(dir, "adir.h5"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeBytes(t, dir, "empty.h5", nil)
	for _, ext := range []string{".h5", ".onnx", ".keras"} {
		writeBytes(t, dir, "text"+ext, []byte("this is a text file, not a model\n"))
	}
	onnxA, err := os.ReadFile("../../fixtures/torch/model_a.onnx")
	if err != nil {
		t.Fatal(err)
	}
	writeBytes(t, dir, "cut.onnx", onnxA[:len(onnxA)/2])
	{ // a .keras zip with weights and metadata but no config.json
		f, err := os.Create(filepath.Join(dir, "noconfig.keras"))
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for _, name := range []string{"metadata.json", "model.weights.h5"} {
			w, _ := zw.Create(name)
			w.Write([]byte("{}"))
		}
		zw.Close()
		f.Close()
	}
	x := make([]float32, 5*4)
	for i := range x {
		x[i] = float32(i) / 20
	}
	writeNPY(t, dir, "x.npy", &model.Tensor{DType: model.Float32, Shape: []int{5, 4}, F32: x})
	writeNPY(t, dir, "x3.npy", &model.Tensor{DType: model.Float32, Shape: []int{5, 3}, F32: x[:15]})
	rawNPY(t, dir, "xc64.npy", "<c8", []int{5, 4}, make([]byte, 8*20))
	xnan := slices.Clone(x)
	xnan[7] = float32(math.NaN())
	writeNPY(t, dir, "xnan.npy", &model.Tensor{DType: model.Float32, Shape: []int{5, 4}, F32: xnan})
	writeNPY(t, dir, "y.npy", &model.Tensor{DType: model.Float32, Shape: []int{5}, F32: []float32{0, 1, 0, 1, 1}})
	writeNPY(t, dir, "y4.npy", &model.Tensor{DType: model.Float32, Shape: []int{4}, F32: []float32{0, 1, 0, 1}})
	writeNPY(t, dir, "y8.npy", &model.Tensor{DType: model.Float32, Shape: []int{5}, F32: []float32{0, 7, 3, 1, 5}})
	writeNPY(t, dir, "yoh.npy", &model.Tensor{DType: model.Float32, Shape: []int{5, 2}, F32: []float32{1, 0, 0, 1, 1, 0, 0, 1, 0, 1}})
	writeNPY(t, dir, "x255.npy", &model.Tensor{DType: model.Float32, Shape: []int{5, 2, 2}, F32: []float32{0, 255, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}})
	{ // a .npy whose header claims more data than the file holds
		b := make([]byte, 4*3)
		binary.LittleEndian.PutUint32(b, math.Float32bits(1))
		rawNPY(t, dir, "short.npy", "<f4", []int{5, 4}, b)
	}
	out := filepath.Join(dir, "out") // outputs go here; none may appear
	// A valid HDF5 file that is no Keras model, and a weights-only save.
	copyFile(t, "../../internal/hdf5/testdata/guards.h5", filepath.Join(dir, "plain.h5"))
	copyFile(t, "../../importers/keras/testdata/kinds1d.weights.h5", filepath.Join(dir, "w.weights.h5"))
	writeBytes(t, dir, "garbage.pb", []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x01})
	xnpy, m3 := filepath.Join(dir, "x.npy"), filepath.Join(dir, "m.keras")

	cases := []struct {
		name    string
		args    []string
		code    int
		mention []string // each must appear in the one line
	}{
		{"missing file", []string{"inspect", "-m", filepath.Join(dir, "nope.h5")}, 1, []string{"nope.h5", "no such file"}},
		{"directory", []string{"inspect", "-m", filepath.Join(dir, "adir.h5")}, 1, []string{"adir.h5", "directory"}},
		{"empty file", []string{"inspect", "-m", filepath.Join(dir, "empty.h5")}, 1, []string{"empty.h5", "empty"}},
		{"text .h5", []string{"inspect", "-m", filepath.Join(dir, "text.h5")}, 1, []string{"text.h5", "not a Keras model"}},
		{"text .onnx", []string{"inspect", "-m", filepath.Join(dir, "text.onnx")}, 1, []string{"text.onnx"}},
		{"text .keras", []string{"inspect", "-m", filepath.Join(dir, "text.keras")}, 1, []string{"text.keras"}},
		{"truncated .onnx", []string{"inspect", "-m", filepath.Join(dir, "cut.onnx")}, 1, []string{"cut.onnx"}},
		{".keras without config.json", []string{"inspect", "-m", filepath.Join(dir, "noconfig.keras")}, 1, []string{"noconfig.keras", "config.json"}},
		{"import of a text file", []string{"import", filepath.Join(dir, "text.onnx")}, 1, []string{"text.onnx"}},
		{"HDF5 that is no Keras model", []string{"inspect", "-m", filepath.Join(dir, "plain.h5")}, 1, []string{"plain.h5", "model_config"}},
		{"weights-only without --config", []string{"inspect", "-m", filepath.Join(dir, "w.weights.h5")}, 1, []string{"w.weights.h5", "--config"}},
		{"--config that does not exist", []string{"inspect", "-m", filepath.Join(dir, "w.weights.h5"), "--config", filepath.Join(dir, "nope.json")}, 1, []string{"nope.json"}},
		{"--config that is no JSON", []string{"inspect", "-m", filepath.Join(dir, "w.weights.h5"), "--config", filepath.Join(dir, "text.h5")}, 1, []string{"text.h5"}},

		{"predict wrong input shape", []string{"predict", "-m", good, "--input", filepath.Join(dir, "x3.npy"), "--output", out + ".npy"}, 1, []string{"x3.npy", "[5 3]", "[-1 4]"}},
		{"predict wrong input name", []string{"predict", "-m", good, "--input", "pixels=" + filepath.Join(dir, "x.npy"), "--output", out + ".npy"}, 2, []string{"pixels", "x"}},
		{"predict complex64 .npy", []string{"predict", "-m", good, "--input", filepath.Join(dir, "xc64.npy"), "--output", out + ".npy"}, 1, []string{"xc64.npy", "<c8"}},
		{"predict short .npy", []string{"predict", "-m", good, "--input", filepath.Join(dir, "short.npy"), "--output", out + ".npy"}, 1, []string{"short.npy"}},
		{"predict to a missing directory", []string{"predict", "-m", good, "--input", filepath.Join(dir, "x.npy"), "--output", filepath.Join(out, "y.npy")}, 1, []string{filepath.Join(out, "y.npy")}},
		{"predict garbage .pb", []string{"predict", "-m", good, "--input", filepath.Join(dir, "garbage.pb"), "--output", out + ".npy"}, 1, []string{"garbage.pb"}},
		{"predict over its input", []string{"predict", "-m", good, "--input", xnpy, "--output", xnpy}, 2, []string{"x.npy", "input"}},
		{"predict --batch-size 0", []string{"predict", "-m", good, "--input", xnpy, "--output", out + ".npy", "--batch-size", "0"}, 2, []string{"batch-size"}},
		{"predict to an unknown extension", []string{"predict", "-m", good, "--input", filepath.Join(dir, "x.npy"), "--output", out + ".csv"}, 2, []string{"out.csv", ".npy"}},

		{"freeze --upto out of range", []string{"freeze", "--upto", "9", "-m", good, "-o", out + ".h5"}, 2, []string{"9", "2 layers"}},
		{"freeze --upto negative", []string{"freeze", "--upto", "-3", "-m", good, "-o", out + ".h5"}, 2, []string{"-3", "2 layers"}},
		{"freeze --upto unknown name", []string{"freeze", "--upto", "nope", "-m", good, "-o", out + ".h5"}, 2, []string{`no layer called "nope"`}},
		{"freeze --upto into a plain layer", []string{"freeze", "--upto", "0:3", "-m", good, "-o", out + ".h5"}, 2, []string{"not a nested model"}},
		{"unfreeze --from out of range", []string{"unfreeze", "--from", "7", "-m", good, "-o", out + ".h5"}, 2, []string{"7"}},
		{"drop-head too many", []string{"drop-head", "--layers", "5", "-m", good, "-o", out + ".h5"}, 2, []string{"5"}},
		{"add-head unknown activation", []string{"add-head", "--units", "1", "--activation", "sigmoidd", "-m", good, "-o", out + ".h5"}, 2, []string{"sigmoidd", "sigmoid"}},
		{"add-head unknown initializer", []string{"add-head", "--units", "1", "--activation", "sigmoid", "--kernel-initializer", "glorot_unifrom", "-m", good, "-o", out + ".h5"}, 2, []string{"glorot_unifrom"}},
		{"add-head absurd units", []string{"add-head", "--units", "2000000000", "--activation", "relu", "-m", good, "-o", out + ".h5"}, 2, []string{"2000000000 units", "fewer units"}},
		{"device as model", []string{"inspect", "-m", "/dev/zero"}, 1, []string{"/dev/zero", "not a regular file"}},
		{"add-head zero units", []string{"add-head", "--units", "0", "--activation", "sigmoid", "-m", good, "-o", out + ".h5"}, 2, []string{"units"}},

		{"finetune unknown data spec", []string{"finetune", "--data", "cifar10:B", "-m", good, "-o", out + ".h5"}, 2, []string{"cifar10:B", "fashion-mnist", "npy:"}},
		{"finetune labels wrong rows", []string{"finetune", "--data", "npy:" + filepath.Join(dir, "x.npy") + "," + filepath.Join(dir, "y4.npy"), "-m", good, "-o", out + ".h5"}, 1, []string{"y4.npy", "4", "5"}},
		{"finetune NaN data", []string{"finetune", "--data", "npy:" + filepath.Join(dir, "xnan.npy") + "," + filepath.Join(dir, "y.npy"), "-m", good, "-o", out + ".h5"}, 1, []string{"xnan.npy", "value 7 (row 1) is NaN"}},
		{"finetune both clip rules", []string{"finetune", "--data", "npy:" + filepath.Join(dir, "x.npy") + "," + filepath.Join(dir, "y.npy"), "--clip-value", "1", "--clip-norm", "1", "-m", good, "-o", out + ".h5"}, 2, []string{"clip"}},
		{"finetune --epochs 0", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--epochs", "0", "-m", good, "-o", out + ".h5"}, 2, []string{"epochs"}},
		{"finetune negative learning rate", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--learning-rate", "-1", "-m", good, "-o", out + ".h5"}, 2, []string{"learning"}},
		{"finetune unknown optimizer", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--optimizer", "lamb", "-m", good, "-o", out + ".h5"}, 2, []string{"lamb", "sgd", "adamw"}},
		{"finetune unknown loss", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--loss", "hinge", "-m", good, "-o", out + ".h5"}, 2, []string{"hinge"}},
		{"finetune missing .npy", []string{"finetune", "--data", "npy:" + filepath.Join(dir, "nx.npy") + "," + filepath.Join(dir, "y.npy"), "-m", good, "-o", out + ".h5"}, 1, []string{"nx.npy"}},
		{"finetune 8 classes for 2 units", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y8.npy"), "-m", good, "-o", out + ".h5"}, 2, []string{"class indices 0..7 (8 classes)", "only 2 units", "add-head --units 8 --activation softmax"}},
		{"finetune binary loss on 8 classes", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y8.npy"), "--loss", "binary_crossentropy", "-m", good, "-o", out + ".h5"}, 2, []string{"needs labels in [0, 1]"}},
		{"finetune one-hot with sparse loss", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "yoh.npy"), "--loss", "sparse_categorical_crossentropy", "-m", good, "-o", out + ".h5"}, 2, []string{"one-hot rows of 2 classes", "categorical_crossentropy"}},
		{"finetune --from-logits on softmax", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--from-logits", "-m", good, "-o", out + ".h5"}, 2, []string{"already applies softmax"}},
		{"finetune raw pixels", []string{"finetune", "--data", "npy:" + filepath.Join(dir, "x255.npy") + "," + filepath.Join(dir, "y.npy"), "-m", good, "-o", out + ".h5"}, 2, []string{"range 0..255", "--rescale 1/255"}},
		{"finetune --plot .jpg", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--plot", out + ".jpg", "-m", good, "-o", out + ".h5"}, 2, []string{"out.jpg", ".png"}},
		{"finetune --checkpoint in a missing folder", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--checkpoint", filepath.Join(out, "c.h5"), "-m", good, "-o", out + ".h5"}, 2, []string{"c.h5", "does not exist"}},
		{"finetune -o in a missing folder", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "-m", good, "-o", filepath.Join(out, "m.h5")}, 2, []string{"m.h5", "does not exist"}},
		{"finetune bad --augment", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--augment", "rotate=2", "-m", good, "-o", out + ".h5"}, 2, []string{"rotate", "(-1, 1]"}},
		{"finetune --augment on flat data", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--augment", "flip", "-m", good, "-o", out + ".h5"}, 2, []string{"--augment needs image examples"}},
		{"finetune --validation-split 1", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--validation-split", "1", "-m", good, "-o", out + ".h5"}, 2, []string{"validation-split"}},
		{"finetune bad --image-size", []string{"finetune", "--data", "images:" + dir, "--image-size", "0x5", "-m", good, "-o", out + ".h5"}, 2, []string{"image-size"}},
		{"finetune csv without --label", []string{"finetune", "--data", "csv:" + filepath.Join(dir, "m.h5"), "-m", good, "-o", out + ".h5"}, 2, []string{"--label"}},
		{"evaluate 8 classes for 2 units", []string{"evaluate", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y8.npy"), "-m", good}, 2, []string{"only 2 units"}},
		{"finetune unknown metric", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--metrics", "precision,f1", "-m", good, "-o", out + ".h5"}, 2, []string{`"f1"`, "precision, recall, auc or top_K"}},
		{"finetune auc on a softmax head", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--metrics", "auc", "-m", good, "-o", out + ".h5"}, 2, []string{"auc is for binary heads", "2 units"}},
		{"finetune bad --class-weight", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--class-weight", "0=1", "-m", good, "-o", out + ".h5"}, 2, []string{"0=1", "CLASS:WEIGHT"}},
		{"finetune --class-weight of a missing class", []string{"finetune", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--class-weight", "5:2", "-m", good, "-o", out + ".h5"}, 2, []string{"class 5", "0..1"}},
		{"evaluate unknown metric", []string{"evaluate", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--metrics", "top_0", "-m", good}, 2, []string{"top_0", "K >= 1"}},
		{"evaluate top_2 of 2 units", []string{"evaluate", "--data", "npy:" + xnpy + "," + filepath.Join(dir, "y.npy"), "--metrics", "top_2", "-m", good}, 2, []string{"top_2 needs a head of more than 2 classes"}},
		{"evaluate labels wrong rows", []string{"evaluate", "--data", "npy:" + filepath.Join(dir, "x.npy") + "," + filepath.Join(dir, "y4.npy"), "-m", good}, 1, []string{"y4.npy"}},

		{"export unknown extension", []string{"export", "-m", good, "-o", out + ".pt"}, 2, []string{"out.pt", ".onnx"}},
		{"export to a missing directory", []string{"export", "-m", good, "-o", filepath.Join(out, "m.onnx")}, 1, []string{filepath.Join(out, "m.onnx")}},
		{"export --opset 12", []string{"export", "-m", good, "-o", out + ".onnx", "--opset", "12"}, 2, []string{"12", "13 to 21"}},
		{"export --opset 22", []string{"export", "-m", good, "-o", out + ".onnx", "--opset", "22"}, 2, []string{"22", "13 to 21"}},
		{"export over its input", []string{"export", "-m", good, "-o", good}, 2, []string{"m.h5", "input"}},
		{"freeze over its input", []string{"freeze", "--upto", "0", "-m", m3, "-o", m3}, 2, []string{"m.keras", "input"}},
		{"export over a directory", []string{"export", "-m", good, "-o", filepath.Join(dir, "adir.h5")}, 1, []string{"adir.h5"}},

		{"verify different input shapes", []string{"verify", good, three}, 1, []string{"three.h5", "4", "3"}},
		{"verify unknown runtime", []string{"verify", good, filepath.Join(dir, "m.onnx"), "--runtime", "tensorflow"}, 2, []string{"tensorflow"}},
		{"verify negative tolerance", []string{"verify", good, filepath.Join(dir, "m.onnx"), "--atol", "-1"}, 2, []string{"atol"}},
		{"verify absurd --batch", []string{"verify", good, filepath.Join(dir, "m.onnx"), "--batch", "100000000"}, 2, []string{"--batch 100000000", "smaller"}},
		{"verify a text file", []string{"verify", good, filepath.Join(dir, "text.onnx")}, 1, []string{"text.onnx"}},

		{"demo --seeds reversed", []string{"demo", "--seeds", "9-1"}, 2, []string{"9-1"}},
		{"demo --seeds not numbers", []string{"demo", "--seeds", "a-b"}, 2, []string{"a-b"}},
		{"demo --seeds too many", []string{"demo", "--seeds", "0-100000"}, 2, []string{"0-100000", "1000"}},
		{"demo --epochs-scale 0", []string{"demo", "--epochs-scale", "0"}, 2, []string{"epochs-scale"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := hashTree(t, dir)
			_, stderr, code := xfer(t, dir, c.args...)
			line := strings.TrimSuffix(stderr, "\n")
			t.Logf("exit %d: %s", code, strings.ReplaceAll(line, dir, "DIR"))
			switch {
			case code != c.code:
				t.Errorf("xfer %s: exit %d; want %d; stderr:\n%s", strings.Join(c.args, " "), code, c.code, stderr)
			case !strings.HasPrefix(stderr, "xfer: ") || strings.Contains(line, "\n") || !strings.HasSuffix(stderr, "\n"):
				t.Errorf("xfer %s: stderr is not one \"xfer: \" line:\n%s", strings.Join(c.args, " "), stderr)
			}
			if p := userLineProblem(t, c.args, line); p != "" {
				t.Errorf("xfer %s: error line %q: %s", strings.Join(c.args, " "), line, p)
			}
			for _, m := range c.mention {
				if !strings.Contains(line, m) {
					t.Errorf("xfer %s: message %q does not mention %q", strings.Join(c.args, " "), line, m)
				}
			}
			for _, bad := range []string{"panic", "goroutine ", "SIGSEGV"} {
				if strings.Contains(stderr, bad) {
					t.Errorf("xfer %s: %q on stderr:\n%s", strings.Join(c.args, " "), bad, stderr)
				}
			}
			after := hashTree(t, dir)
			for p, h := range after {
				if hb, ok := before[p]; !ok {
					t.Errorf("xfer %s left a new file %s", strings.Join(c.args, " "), p)
				} else if hb != h {
					t.Errorf("xfer %s modified its input %s", strings.Join(c.args, " "), p)
				}
			}
			for p := range before {
				if _, ok := after[p]; !ok {
					t.Errorf("xfer %s removed %s", strings.Join(c.args, " "), p)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, ".xfer")); err == nil {
				t.Errorf("xfer %s created a workspace", strings.Join(c.args, " "))
			}
		})
	}
}

// TestInputsUntouched runs every command that reads files on good inputs
// in file mode: each must succeed, leave every input byte-identical and
// write only the output it was asked for (no temporary file left behind).
func TestInputsUntouched(t *testing.T) {
	in := t.TempDir()
	outs := t.TempDir()
	h5 := writeModel(t, in, "m.h5", mlp(t))
	kz := writeModel(t, in, "m.keras", mlp(t))
	ox := writeModel(t, in, "m.onnx", mlp(t))
	x := make([]float32, 6*4)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	xp := writeNPY(t, in, "x.npy", &model.Tensor{DType: model.Float32, Shape: []int{6, 4}, F32: x})
	yp := writeNPY(t, in, "y.npy", &model.Tensor{DType: model.Float32, Shape: []int{6}, F32: []float32{0, 1, 1, 0, 1, 0}})
	data := "npy:" + xp + "," + yp
	o := func(name string) string { return filepath.Join(outs, name) }
	cases := []struct {
		args []string
		out  string // the one file the command writes ("" for none)
	}{
		{[]string{"inspect", "-m", h5}, ""},
		{[]string{"inspect", "--json", "-m", kz}, ""},
		{[]string{"inspect", "-m", ox}, ""},
		{[]string{"log", "-m", h5}, ""},
		{[]string{"predict", "-m", kz, "--input", xp, "--output", o("p.npy")}, "p.npy"},
		{[]string{"export", "-m", h5, "-o", o("e.onnx")}, "e.onnx"},
		{[]string{"export", "-m", kz, "-o", o("e.h5")}, "e.h5"},
		{[]string{"export", "-m", ox, "-o", o("e.keras")}, "e.keras"},
		{[]string{"drop-head", "-m", h5, "-o", o("d.h5")}, "d.h5"},
		{[]string{"add-head", "--units", "1", "--activation", "sigmoid", "--seed", "3", "-m", kz, "-o", o("a.keras")}, "a.keras"},
		{[]string{"freeze", "--upto", "0", "-m", ox, "-o", o("f.onnx")}, "f.onnx"},
		{[]string{"unfreeze", "-m", h5, "-o", o("u.h5")}, "u.h5"},
		{[]string{"clone", "--reinit", "--seed", "1", "-m", h5, "-o", o("c.h5")}, "c.h5"},
		{[]string{"fold-bn", "-m", kz, "-o", o("fb.keras")}, "fb.keras"},
		{[]string{"finetune", "--data", data, "--epochs", "1", "--seed", "1", "-m", h5, "-o", o("ft.h5")}, "ft.h5"},
		{[]string{"evaluate", "--data", data, "-m", ox}, ""},
		{[]string{"verify", h5, ox}, ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[:1], " "), func(t *testing.T) {
			before := hashTree(t, in)
			beforeOut := hashTree(t, outs)
			_, stderr, code := xfer(t, in, c.args...)
			if code != 0 {
				t.Fatalf("xfer %s: exit %d; stderr:\n%s", strings.Join(c.args, " "), code, stderr)
			}
			if after := hashTree(t, in); !maps.Equal(after, before) {
				t.Errorf("xfer %s changed the input directory: %d files before, %d after, or contents differ", strings.Join(c.args, " "), len(before), len(after))
			}
			afterOut := hashTree(t, outs)
			for p := range afterOut {
				if _, ok := beforeOut[p]; !ok && p != c.out {
					t.Errorf("xfer %s wrote %s; want only %q", strings.Join(c.args, " "), p, c.out)
				}
			}
			if _, ok := afterOut[c.out]; c.out != "" && !ok {
				t.Errorf("xfer %s did not write %s", strings.Join(c.args, " "), c.out)
			}
		})
	}
}

// TestParseSeedsEdges: ranges at the ends of int64 end (a loop on v <= b
// never did when b was the largest int64), bad ones are usage errors.
func TestParseSeedsEdges(t *testing.T) {
	cases := []struct {
		in   string
		want []int64 // nil: an error
	}{
		{"9223372036854775806-9223372036854775807", []int64{math.MaxInt64 - 1, math.MaxInt64}},
		{"9223372036854775807-9223372036854775807", []int64{math.MaxInt64}},
		{"0-9223372036854775807", nil},
		{"5-4", nil},
		{"1-", nil},
		{"", nil},
		{"1,,2", nil},
	}
	for _, c := range cases {
		got, err := parseSeeds(c.in)
		if c.want == nil {
			if err == nil {
				t.Errorf("parseSeeds(%q) = %v; want an error", c.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("parseSeeds(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// TestBadWorkspace: a damaged ./.xfer (journal or snapshot) is one error
// line with exit status 1 for every command that reads it.
func TestBadWorkspace(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(t *testing.T, ws string)
		mention string
	}{
		{"journal not JSON", func(t *testing.T, ws string) { writeBytes(t, ws, "journal.json", []byte("{{{")) }, "journal.json"},
		{"journal empty", func(t *testing.T, ws string) { writeBytes(t, ws, "journal.json", nil) }, "journal.json"},
		{"snapshot truncated", func(t *testing.T, ws string) {
			p := filepath.Join(ws, "snapshots", "000001.snap")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			writeBytes(t, filepath.Dir(p), filepath.Base(p), b[:len(b)/2])
		}, "000001.snap"},
		{"snapshot missing", func(t *testing.T, ws string) {
			if err := os.Remove(filepath.Join(ws, "snapshots", "000001.snap")); err != nil {
				t.Fatal(err)
			}
		}, "000001.snap"},
		{"object missing", func(t *testing.T, ws string) {
			objs := namesIn(t, filepath.Join(ws, "objects"))
			if err := os.Remove(filepath.Join(ws, "objects", objs[0])); err != nil {
				t.Fatal(err)
			}
		}, "is missing from"},
		{"object changed", func(t *testing.T, ws string) {
			p := filepath.Join(ws, "objects", namesIn(t, filepath.Join(ws, "objects"))[0])
			b := readFile(t, p)
			b[0] ^= 1
			writeBytes(t, filepath.Dir(p), filepath.Base(p), b)
		}, "000001.snap has digest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			mustXfer(t, dir, "import", writeModel(t, dir, "m.onnx", mlp(t)))
			c.damage(t, filepath.Join(dir, ".xfer"))
			for _, args := range [][]string{{"inspect"}, {"freeze", "--upto", "0"}, {"export", filepath.Join(dir, "o.onnx")}} {
				_, stderr, code := xfer(t, dir, args...)
				if code != 1 || !strings.HasPrefix(stderr, "xfer: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.mention) {
					t.Errorf("xfer %s on a workspace with %s: exit %d, stderr %q; want 1 and one xfer: line naming %s", strings.Join(args, " "), c.name, code, stderr, c.mention)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "o.onnx")); err == nil {
				t.Errorf("export from a damaged workspace wrote o.onnx")
			}
		})
	}
}

// TestMemoryCeilingEnv: XFER_MAX_MEMORY bounds what decoders allocate; a
// value that does not parse is a usage error naming the variable.
func TestMemoryCeilingEnv(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "in.xnat", mlpIn(t, 1000)) // 8 KB of weights
	cases := []struct {
		env      string
		wantCode int
		want     string
	}{
		{"", 0, ""},
		{"1GiB", 0, ""},
		{"4KiB", 1, "larger than xfer's memory ceiling of 4KiB (set XFER_MAX_MEMORY to raise it"},
		{"lots", 2, `xfer: inspect: XFER_MAX_MEMORY="lots": want a positive byte count`},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			t.Setenv("XFER_MAX_MEMORY", c.env)
			_, stderr, code := xferProcess(t, "inspect", "-m", in)
			if code != c.wantCode || !strings.Contains(stderr, c.want) {
				t.Errorf("XFER_MAX_MEMORY=%q xfer inspect: exit %d, stderr %q; want %d and %q", c.env, code, stderr, c.wantCode, c.want)
			}
			if code != 0 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q; want one line", stderr)
			}
		})
	}
}
