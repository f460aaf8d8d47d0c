package tensorio_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

func Example() {
	dir, _ := os.MkdirTemp("", "tensorio")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "x.npy")
	x := &model.Tensor{DType: model.Float32, Shape: []int{2, 2}, F32: []float32{1, 2, 3, 4}}
	if err := tensorio.WriteNPY(path, x); err != nil {
		fmt.Println(err)
		return
	}
	back, err := tensorio.ReadFile(path)
	fmt.Println(back.Shape, back.F32, err)
	// Output: [2 2] [1 2 3 4] <nil>
}
