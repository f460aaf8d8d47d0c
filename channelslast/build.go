package channelslast

import (
	"fmt"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// Keras layers built by package layers (which writes their Keras configs), for
// the few kinds the op handlers share.

func common(name, in string, trainable bool) layers.Common {
	return layers.Common{Name: name, Inputs: []string{in}, Trainable: trainable}
}

func permuteLayer(name, in string, trainable bool, dims []int) (*model.Layer, error) {
	return layers.Permute(layers.PermuteSpec{Common: common(name, in, trainable), Dims: dims})
}

// permuteDims reads the Keras dims back from a Permute layer's Transpose.
func permuteDims(l *model.Layer) []int {
	perm := l.Nodes[0].AttrInts("perm", nil)
	dims := make([]int, 0, len(perm))
	for _, p := range perm[1:] {
		dims = append(dims, int(p))
	}
	return dims
}

func zeroPaddingLayer(name, in string, trainable bool, pads [][2]int) (*model.Layer, error) {
	return layers.ZeroPadding(layers.ZeroPaddingSpec{Common: common(name, in, trainable), Padding: pads})
}

func activationLayer(name, in string, trainable bool, act string) (*model.Layer, error) {
	return layers.Activation(layers.ActivationSpec{Common: common(name, in, trainable), Activation: act})
}

func reluLayer(name, in string, trainable bool, maxValue *float32) (*model.Layer, error) {
	return layers.ReLU(layers.ReLUSpec{Common: common(name, in, trainable), MaxValue: maxValue})
}

func rescalingLayer(name, in string, trainable bool, scale, offset []float32) (*model.Layer, error) {
	return layers.Rescaling(layers.RescalingSpec{Common: common(name, in, trainable), Scale: scale, Offset: offset})
}

func mergeLayer(kind, name string, ins []string, trainable bool) (*model.Layer, error) {
	return layers.Merge(layers.MergeSpec{Common: layers.Common{Name: name, Inputs: ins, Trainable: trainable}, Kind: kind})
}

func reshapeLayer(name, in string, trainable bool, target []int) (*model.Layer, error) {
	return layers.Reshape(layers.ReshapeSpec{Common: common(name, in, trainable), TargetShape: target})
}

func flattenLayer(name, in string, trainable bool) (*model.Layer, error) {
	return layers.Flatten(common(name, in, trainable))
}

// depthwise1x1 builds a 1x1 DepthwiseConv2D that computes x*scale + bias
// per channel (the last axis of a rank-4 input): the Keras form of a
// per-channel multiply or add by a constant, which keeps the constant a
// weight (trainable, as in the source).
func depthwise1x1(name, in string, trainable bool, channels int, scale, bias []float32) (*model.Layer, error) {
	if len(scale) != channels || bias != nil && len(bias) != channels {
		return nil, fmt.Errorf("layers: layer %q: per-channel constants of %d and %d values for %d channels", name, len(scale), len(bias), channels)
	}
	one := []int{1, 1}
	return layers.DepthwiseConv2D(layers.DepthwiseConvSpec{
		Common:       common(name, in, trainable),
		InputSpatial: []int{-1, -1}, InChannels: channels, DepthMultiplier: 1,
		KernelSize: one, Strides: one, Dilation: one, Padding: "valid", UseBias: bias != nil,
		Kernel: scale, Bias: bias,
	})
}

func leakyReLU(name, in string, trainable bool, alpha float32) (*model.Layer, error) {
	return layers.LeakyReLU(layers.LeakyReLUSpec{Common: common(name, in, trainable), NegativeSlope: alpha})
}

func eluLayer(name, in string, trainable bool, alpha float32) (*model.Layer, error) {
	return layers.ELU(layers.ELUSpec{Common: common(name, in, trainable), Alpha: alpha})
}

func softmaxLayer(name, in string, trainable bool, axis int) (*model.Layer, error) {
	return layers.Softmax(layers.SoftmaxSpec{Common: common(name, in, trainable), Axis: axis})
}

func concatenateLayer(name string, ins []string, trainable bool, axis int) (*model.Layer, error) {
	return layers.Concatenate(layers.ConcatenateSpec{Common: layers.Common{Name: name, Inputs: ins, Trainable: trainable}, Axis: axis})
}
