package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/xferml/xfer/model"
)

// Fashion-MNIST facts (https://github.com/zalandoresearch/fashion-mnist).
const (
	fashionSide     = 28 // images are 28x28
	fashionSandal   = 5  // class index of "Sandal"
	fashionShirt    = 6  // class index of "Shirt"
	validationCount = 5000
	// taskBTrainCount is the size of task B's training set in the notebook
	// (X_train_B = X_train_B[:200]).
	taskBTrainCount = 200
)

// fashionFiles are the four files, without the optional ".gz".
var fashionFiles = [4]string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}

// FashionDirs returns the directories searched for Fashion-MNIST, in order.
func FashionDirs(opts Options) []string {
	var dirs []string
	if opts.DataDir != "" {
		dirs = append(dirs, opts.DataDir)
	}
	if d := os.Getenv("XFER_DATA"); d != "" {
		dirs = append(dirs, d, filepath.Join(d, "fashion-mnist"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".keras", "datasets", "fashion-mnist"))
	}
	return append(dirs, "/usr/share/datasets/fashion-mnist")
}

// Fashion is Fashion-MNIST as read from disk: 60,000 training and 10,000 test
// images with their labels 0..9.
type Fashion struct {
	Dir                     string
	what                    string // "fashion-mnist" or "mnist", for messages
	TrainImages, TestImages *IDX
	TrainLabels, TestLabels *IDX
}

// LoadFashion finds and reads Fashion-MNIST's four IDX files.
func LoadFashion(opts Options) (*Fashion, error) {
	dirs := FashionDirs(opts)
	f, err := loadIDXDirs("fashion-mnist", dirs)
	if f != nil || err != nil {
		return f, err
	}
	return nil, fmt.Errorf("dataset: fashion-mnist: files %s[.gz] not found in any of %s; use --data-dir or $XFER_DATA, or install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist): %w",
		strings.Join(fashionFiles[:], ", "), strings.Join(dirs, ", "), ErrNotFound)
}

// loadIDXDirs reads the four IDX files of an MNIST-like data set from the
// first of dirs that has them all; nil, nil when none has.
func loadIDXDirs(what string, dirs []string) (*Fashion, error) {
	for _, dir := range dirs {
		paths, ok := fashionPaths(dir)
		if !ok {
			continue
		}
		var idx [4]*IDX
		for i, p := range paths {
			x, err := ReadIDX(p)
			if errors.Is(err, ErrFormat) {
				return nil, fmt.Errorf("%w; the %s files in %s are damaged: download them again (or remove them)", err, what, dir)
			}
			if err != nil {
				return nil, err
			}
			idx[i] = x
		}
		f := &Fashion{Dir: dir, what: what, TrainImages: idx[0], TrainLabels: idx[1], TestImages: idx[2], TestLabels: idx[3]}
		if err := f.check(); err != nil {
			return nil, err
		}
		return f, nil
	}
	return nil, nil
}

// fashionPaths returns the four files in dir, preferring uncompressed ones.
func fashionPaths(dir string) ([4]string, bool) {
	var paths [4]string
	for i, name := range fashionFiles {
		found := false
		for _, cand := range []string{name, name + ".gz"} {
			p := filepath.Join(dir, cand)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				paths[i], found = p, true
				break
			}
		}
		if !found {
			return paths, false
		}
	}
	return paths, true
}

func (f *Fashion) check() error {
	for _, c := range []struct {
		what           string
		images, labels *IDX
	}{{"train", f.TrainImages, f.TrainLabels}, {"t10k", f.TestImages, f.TestLabels}} {
		if len(c.images.Shape) != 3 || c.images.Shape[1] != fashionSide || c.images.Shape[2] != fashionSide {
			return fmt.Errorf("dataset: %s in %s: %s images have shape %v, want [N 28 28]: %w", f.what, f.Dir, c.what, c.images.Shape, ErrFormat)
		}
		if len(c.labels.Shape) != 1 || c.labels.Shape[0] != c.images.Shape[0] {
			return fmt.Errorf("dataset: %s in %s: %s labels have shape %v for %d images: %w", f.what, f.Dir, c.what, c.labels.Shape, c.images.Shape[0], ErrFormat)
		}
		for i, l := range c.labels.Data {
			if l > 9 {
				return fmt.Errorf("dataset: %s in %s: %s label %d is %d, not a class 0..9: %w", f.what, f.Dir, c.what, i, l, ErrFormat)
			}
		}
	}
	if f.TrainImages.Shape[0] <= validationCount {
		return fmt.Errorf("dataset: %s in %s: %d training images, need more than %d for the validation split: %w", f.what, f.Dir, f.TrainImages.Shape[0], validationCount, ErrFormat)
	}
	return nil
}

// Task returns split ("train", "valid" or "test") of task "A" or "B", as
// Géron's chapter 11 notebook makes them.
func (f *Fashion) Task(task, split string) (*Set, error) {
	var images, labels *IDX
	lo, hi := 0, 0
	switch split {
	case "train":
		images, labels = f.TrainImages, f.TrainLabels
		lo, hi = validationCount, len(labels.Data)
	case "valid":
		images, labels = f.TrainImages, f.TrainLabels
		lo, hi = 0, validationCount
	case "test":
		images, labels = f.TestImages, f.TestLabels
		lo, hi = 0, len(labels.Data)
	default:
		return nil, fmt.Errorf("dataset: fashion-mnist:%s:%s: unknown split %q (want train, valid or test)", task, split, split)
	}
	var keep func(l uint8) (float32, bool)
	classes := 0
	switch task {
	case "A":
		classes = 8
		keep = func(l uint8) (float32, bool) {
			if l == fashionSandal || l == fashionShirt {
				return 0, false
			}
			if l > fashionShirt {
				l -= 2 // 7, 8, 9 -> 5, 6, 7
			}
			return float32(l), true
		}
	case "B":
		classes = 2
		keep = func(l uint8) (float32, bool) {
			switch l {
			case fashionSandal:
				return 0, true
			case fashionShirt:
				return 1, true
			}
			return 0, false
		}
	case "all":
		classes = 10
		keep = func(l uint8) (float32, bool) { return float32(l), true }
	default:
		return nil, fmt.Errorf("dataset: fashion-mnist:%s: unknown task %q (want A, B or all)", task, task)
	}
	limit := -1
	if task == "B" && split == "train" {
		limit = taskBTrainCount
	}
	const px = fashionSide * fashionSide
	var rows []int
	var y []float32
	for i := lo; i < hi && (limit < 0 || len(rows) < limit); i++ {
		if v, ok := keep(labels.Data[i]); ok {
			rows = append(rows, i)
			y = append(y, v)
		}
	}
	x := make([]float32, len(rows)*px)
	for k, i := range rows {
		src := images.Data[i*px : (i+1)*px]
		dst := x[k*px : (k+1)*px]
		for j, b := range src {
			if task == "all" {
				dst[j] = float32(b) // as keras.datasets.fashion_mnist.load_data: 0..255
			} else {
				dst[j] = float32(b) / 255 // the notebook's X / 255.0
			}
		}
	}
	name := f.what + ":" + task + ":" + split
	if f.what == "mnist" {
		name = "mnist:" + split
	}
	return NewSet(name, &model.Tensor{Name: name, DType: model.Float32, Shape: []int{len(rows), fashionSide, fashionSide}, F32: x}, y, classes)
}
