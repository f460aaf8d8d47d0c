package dataset

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Options says where to look for data and how to read it.
type Options struct {
	// DataDir is looked at first for Fashion-MNIST's IDX files (and MNIST's,
	// in DataDir/mnist).
	DataDir string
	// Image reads images:DIR folders.
	Image ImageOptions
	// Label names the label column of a CSV file.
	Label string
	// ValidationSplit > 0 holds out that fraction of the examples for
	// validation (LoadSplit): for image folders after Keras's seeded
	// shuffle (image_dataset_from_directory), for arrays the last fraction
	// as Keras's fit(validation_split=) takes it.
	ValidationSplit float64
	// Seed seeds the image folder shuffle (Keras's seed argument).
	Seed int64
	// Rescale is set on the sets returned (Keras's Rescaling layer).
	Rescale Rescaling
	// Warn receives notes such as skipped unreadable images (may be nil).
	Warn func(string)
}

// Specs lists the data specs Load understands, for messages.
const Specs = "fashion-mnist:A|B|all[:train|valid|test], mnist[:train|valid|test], images:DIR, csv:FILE (with --label COLUMN), npz:FILE[:X_KEY,Y_KEY] or npy:X.npy,Y.npy"

// Load reads the data set named by spec (see LoadSplit); a validation split
// in opts is ignored.
func Load(spec string, opts Options) (*Set, error) {
	opts.ValidationSplit = 0
	s, _, err := LoadSplit(spec, opts)
	return s, err
}

// LoadSplit reads the data set named by spec:
//
//   - "fashion-mnist:A", "fashion-mnist:B" (Géron's chapter 11 tasks,
//     pixels / 255) and "fashion-mnist:all" (the 10 classes, pixels 0..255
//     as keras.datasets.fashion_mnist.load_data), each with an optional
//     ":train", ":valid" (the first 5,000 training images) or ":test";
//   - "mnist[:train|valid|test]": MNIST, pixels 0..255, same splits;
//   - "images:DIR": one sub-folder per class (LoadImages);
//   - "csv:FILE": a CSV file with a header, labels in column opts.Label;
//   - "npz:FILE[:X_KEY,Y_KEY]": arrays of a NumPy .npz (default x_train,
//     y_train, as Keras's mnist.npz);
//   - "npy:X.npy,Y.npy": a user's own arrays.
//
// With opts.ValidationSplit > 0 it returns the held-out part as valid.
func LoadSplit(spec string, opts Options) (train, valid *Set, err error) {
	split := opts.ValidationSplit
	if split < 0 || split >= 1 || math.IsNaN(split) {
		return nil, nil, fmt.Errorf("%w: validation split %v: want a fraction in [0, 1)", ErrSpec, split)
	}
	kind, rest, _ := strings.Cut(spec, ":")
	var s *Set
	switch kind {
	case "fashion-mnist", "mnist":
		task, sp := "", rest
		if kind == "fashion-mnist" {
			var ok bool
			task, sp, ok = strings.Cut(rest, ":")
			if !ok {
				sp = ""
			}
			if task != "A" && task != "B" && task != "all" {
				return nil, nil, fmt.Errorf("%w: %q: unknown task %q (want fashion-mnist:A, fashion-mnist:B or fashion-mnist:all, optionally :train, :valid or :test)", ErrSpec, spec, task)
			}
		} else {
			task = "all"
		}
		if sp == "" {
			sp = "train"
		}
		if sp != "train" && sp != "valid" && sp != "test" {
			return nil, nil, fmt.Errorf("%w: %q: unknown split %q (want train, valid or test)", ErrSpec, spec, sp)
		}
		var f *Fashion
		if kind == "mnist" {
			f, err = LoadMNIST(opts)
		} else {
			f, err = LoadFashion(opts)
		}
		if err != nil {
			return nil, nil, err
		}
		s, err = f.Task(task, sp)
	case "npy":
		xp, yp, ok := strings.Cut(rest, ",")
		if !ok || xp == "" || yp == "" {
			return nil, nil, fmt.Errorf("%w: %q: want npy:X.npy,Y.npy", ErrSpec, spec)
		}
		s, err = LoadNPY(xp, yp)
	case "npz":
		s, err = loadNPZ(spec, rest)
	case "csv":
		if rest == "" {
			return nil, nil, fmt.Errorf("%w: %q: want csv:FILE", ErrSpec, spec)
		}
		s, err = LoadCSV(rest, opts.Label)
	case "images":
		if rest == "" {
			return nil, nil, fmt.Errorf("%w: %q: want images:DIR", ErrSpec, spec)
		}
		seed := opts.Seed
		if seed < 0 || seed > math.MaxUint32 {
			return nil, nil, fmt.Errorf("%w: seed %d: an image folder's shuffle takes a seed in 0..2^32-1 (NumPy's)", ErrSpec, seed)
		}
		train, valid, err = LoadImages(rest, opts.Image, split, uint32(seed), opts.Warn)
		if err != nil {
			return nil, nil, err
		}
		train.Rescale = opts.Rescale
		if valid != nil {
			valid.Rescale = opts.Rescale
		}
		return train, valid, nil
	default:
		return nil, nil, fmt.Errorf("%w: %q: unknown data set (want %s)", ErrSpec, spec, Specs)
	}
	if err != nil {
		return nil, nil, err
	}
	s.Rescale = opts.Rescale
	if split == 0 {
		return s, nil, nil
	}
	// Keras's fit(validation_split=): the last fraction, unshuffled
	// (keras/src/trainers/data_adapters/array_slicing.py,
	// train_validation_split: split_at = floor(N * (1 - split))).
	at := int(math.Floor(float64(s.Len()) * (1 - split)))
	if at == 0 || at == s.Len() {
		return nil, nil, fmt.Errorf("%w: %s: a validation split of %v of %d examples leaves an empty part", ErrSpec, spec, split, s.Len())
	}
	idx := s.Order(nil)
	return s.Subset(s.Name+":training", idx[:at]), s.Subset(s.Name+":validation", idx[at:]), nil
}

// MNISTDirs returns where MNIST is looked for, in order: IDX files in
// DataDir/mnist, $XFER_DATA/mnist, /usr/share/datasets/mnist, then Keras's
// cache file ~/.keras/datasets/mnist.npz.
func MNISTDirs(opts Options) []string {
	var dirs []string
	if opts.DataDir != "" {
		dirs = append(dirs, filepath.Join(opts.DataDir, "mnist"))
	}
	if d := os.Getenv("XFER_DATA"); d != "" {
		dirs = append(dirs, filepath.Join(d, "mnist"))
	}
	return append(dirs, "/usr/share/datasets/mnist")
}

// LoadMNIST finds and reads MNIST: IDX files (gzip-compressed or not) in
// MNISTDirs, else Keras's ~/.keras/datasets/mnist.npz (x_train, y_train,
// x_test, y_test).
func LoadMNIST(opts Options) (*Fashion, error) {
	dirs := MNISTDirs(opts)
	f, err := loadIDXDirs("mnist", dirs)
	if f != nil || err != nil {
		return f, err
	}
	var npz string
	if home, err := os.UserHomeDir(); err == nil {
		npz = filepath.Join(home, ".keras", "datasets", "mnist.npz")
		if _, err := os.Stat(npz); err == nil {
			ts, err := ReadNPZ(npz, "x_train", "y_train", "x_test", "y_test")
			if err != nil {
				return nil, err
			}
			idx := make([]*IDX, 4)
			for i, t := range ts {
				b := make([]uint8, len(t.F32))
				for j, v := range t.F32 {
					if v < 0 || v > 255 || v != float32(math.Trunc(float64(v))) {
						return nil, fmt.Errorf("dataset: %s: %s value %v is not a byte: %w", npz, t.Name, v, ErrFormat)
					}
					b[j] = uint8(v)
				}
				idx[i] = &IDX{Shape: t.Shape, Data: b}
			}
			f := &Fashion{Dir: npz, what: "mnist", TrainImages: idx[0], TrainLabels: idx[1], TestImages: idx[2], TestLabels: idx[3]}
			if err := f.check(); err != nil {
				return nil, err
			}
			return f, nil
		}
	}
	return nil, fmt.Errorf("dataset: mnist: IDX files %s[.gz] not found in any of %s, nor Keras's cache %s; put them there (keras.datasets.mnist.load_data() writes the cache): %w",
		strings.Join(fashionFiles[:], ", "), strings.Join(dirs, ", "), npz, ErrNotFound)
}
