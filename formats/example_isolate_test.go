package formats_test

import (
	"fmt"

	"github.com/xferml/xfer/formats"
)

// Reading a Keras file in a child process, as the xfer command does: the
// program's main (here, this test binary's TestMain) serves the child with
// formats.ServeChild before anything else.
func ExampleRead_isolated() {
	m, err := formats.Read("../fixtures/modela/model_A.h5", formats.Options{IsolateHDF5: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	total, _, _ := m.ParamCounts()
	fmt.Println(m.Meta["format"], len(m.Layers), "layers,", total, "params")
	// Output: keras-h5 7 layers, 276158 params
}
