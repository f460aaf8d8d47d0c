package tensorio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/xferml/xfer/model"
)

// ErrFormat reports a file that is not a valid .npy or TensorProto .pb.
var ErrFormat = errors.New("tensorio: bad format")

// ErrUnsupported reports a valid file holding a type xfer cannot use.
var ErrUnsupported = errors.New("tensorio: unsupported")

// maxFileSize bounds what ReadFile loads into memory: 4 GiB, far above any
// input batch xfer is meant for.
const maxFileSize = 4 << 30

// ReadFile reads a tensor from a .npy or .pb file, chosen by extension.
func ReadFile(path string) (*model.Tensor, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".npy" && ext != ".pb" {
		return nil, fmt.Errorf("tensorio: %s: unknown extension %q (want .npy or .pb)", path, ext)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("tensorio: %s: %d bytes is larger than the %d-byte limit", path, st.Size(), int64(maxFileSize))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	var t *model.Tensor
	if ext == ".npy" {
		t, err = DecodeNPY(data)
	} else {
		t, err = DecodePB(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// checkedCount returns the element count of shape, or an error when a dim is
// negative or the product exceeds limit.
func checkedCount(shape []int, limit int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension in shape %v", ErrFormat, shape)
		}
		if d != 0 && n > limit/d {
			return 0, fmt.Errorf("%w: shape %v holds more elements than the file's %d bytes can", ErrFormat, shape, limit)
		}
		n *= d
	}
	return n, nil
}
