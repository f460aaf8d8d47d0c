package channelslast_test

import (
	"testing"

	"github.com/xferml/xfer/channelslast"
	"github.com/xferml/xfer/model"
)

// resnetLike is a stem and n residual blocks of two 3x3 convolutions with
// 64 channels (resnet18's first stage) on 56x56 maps: 74k weights per conv.
func resnetLike(n int) *model.Model {
	g := newGraph(3, 56, 56)
	x := g.add("Conv", attrs("pads", []int64{1, 1, 1, 1}), "x", p(64, 3, 3, 3), p(64))
	x = g.add("Relu", nil, x)
	for i := 0; i < n; i++ {
		h := g.add("Conv", attrs("pads", []int64{1, 1, 1, 1}), x, p(64, 64, 3, 3), p(64))
		h = g.add("Relu", nil, h)
		h = g.add("Conv", attrs("pads", []int64{1, 1, 1, 1}), h, p(64, 64, 3, 3), p(64))
		x = g.add("Relu", nil, g.add("Add", nil, h, x))
	}
	x = g.add("GlobalAveragePool", nil, x)
	x = g.add("Flatten", nil, x)
	return g.done(g.add("Gemm", attrs("transB", 1), x, p(1000, 64), p(1000)))
}

func benchConvert(b *testing.B, blocks int) {
	m := resnetLike(blocks)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := channelslast.Convert(m, channelslast.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConvertResNet2(b *testing.B) { benchConvert(b, 2) }
func BenchmarkConvertResNet8(b *testing.B) { benchConvert(b, 8) }
