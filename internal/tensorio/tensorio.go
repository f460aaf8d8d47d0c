package tensorio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// ErrFormat reports a file that is not a valid .npy or TensorProto .pb.
var ErrFormat = errors.New("tensorio: bad format")

// ReadFile reads a tensor from a .npy or .pb file, chosen by extension.
func ReadFile(path string) (*model.Tensor, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".npy" && ext != ".pb" {
		return nil, fmt.Errorf("tensorio: %s: unknown extension %q (want .npy or .pb)", path, ext)
	}
	if ext == ".npy" {
		return ReadNPYFile(path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	// Decoding holds the file and its float32 values: about twice its size.
	if err := limits.Check(path, st.Size(), 2); err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	t, err := DecodePB(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ReadNPYFile reads the .npy file at path (whatever its extension) with
// ReadNPY, streaming: the file is not held in memory, its values are.
func ReadNPYFile(path string) (*model.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	// The values as read and as converted: up to twice the file's size.
	if err := limits.Check(path, st.Size(), 2); err != nil {
		return nil, fmt.Errorf("tensorio: %w", err)
	}
	t, err := ReadNPY(f, st.Size())
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
