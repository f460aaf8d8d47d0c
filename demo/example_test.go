package demo_test

import (
	"context"
	"fmt"
	"os"

	"github.com/xferml/xfer/demo"
)

// The chapter-11 experiment over three seeds, at a tenth of the epochs,
// writing its models into ./out.
func ExampleRun() {
	res, err := demo.Run(context.Background(), demo.Options{Out: "out", Seeds: []int64{0, 1, 2}, EpochsScale: 0.1})
	if err != nil {
		fmt.Println(err)
		return
	}
	res.WriteTable(os.Stdout)
}
