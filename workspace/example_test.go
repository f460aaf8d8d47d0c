package workspace_test

import (
	"fmt"
	"os"
	"time"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/workspace"
)

func Example() {
	root, _ := os.MkdirTemp("", "ws")
	defer os.RemoveAll(root)
	d, _ := layers.Dense(layers.DenseSpec{Name: "dense", Input: "x", InFeatures: 2, Units: 1, UseBias: true, Trainable: true})
	m := &model.Model{Name: "m", Opset: model.DefaultOpset,
		Inputs:  []*model.Value{{Name: "x", DType: model.Float32, Shape: []int{-1, 2}}},
		Outputs: d.Outputs, Layers: []*model.Layer{d}}
	ws, _ := workspace.OpenOrCreate(root)
	ws.Commit(m, "import", "m.h5", time.Now())
	frozen := m.Clone()
	frozen.Layers[0].SetTrainable(false)
	ws.Commit(frozen, "freeze", "--upto 0", time.Now())
	undone, _ := ws.Undo()
	cur, _ := ws.Current()
	fmt.Println(undone.Op, cur.Layers[0].Trainable, len(ws.Journal()))
	// Output: freeze true 1
}
