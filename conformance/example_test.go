package conformance_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/xferml/xfer/conformance"
)

func ExampleRunCase() {
	dir := filepath.Join(conformance.DefaultDir, "test_gemm_default_matrix_bias")
	if _, err := os.Stat(dir); err != nil {
		fmt.Println("ok") // libonnx-testdata not installed
		return
	}
	if err := conformance.RunCase(dir); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ok")
	// Output: ok
}
