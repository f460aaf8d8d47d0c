package finetune

import (
	"testing"

	"github.com/xferml/xfer/engine"
)

func BenchmarkEvaluate10000(b *testing.B) {
	m := modelA(b)
	set := randomSet(b, 10000, 8, []int{28, 28})
	b.Run("gorgonia", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Evaluate(m, set, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("engine", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s, err := engine.New(m)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Predict(set.X); err != nil {
				b.Fatal(err)
			}
		}
	})
}
