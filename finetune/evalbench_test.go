package finetune

import (
	"testing"

	"gorgonia.org/tensor"
)

// BenchmarkEvaluate10000 compares Evaluate (the engine) with evaluating on
// the training graph, on 10,000 examples through model A.
func BenchmarkEvaluate10000(b *testing.B) {
	m := modelA(b)
	set := randomSet(b, 10000, 8, []int{28, 28})
	b.Run("engine", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Evaluate(m, set, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("graph", func(b *testing.B) {
		k, err := chooseLoss(m, "", 8)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			t := &trainer{m: m, loss: k, st: newStore(m, tensor.Float32), eval: map[int]*graph{}, rowSize: 784}
			if _, err := t.evaluate(set); err != nil {
				b.Fatal(err)
			}
		}
	})
}
