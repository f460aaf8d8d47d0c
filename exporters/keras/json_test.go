package keras

import (
	"reflect"
	"testing"
)

func TestSnakeCase(t *testing.T) {
	// Expected values are keras.src.utils.naming.to_snake_case outputs, as
	// the shared fixtures' model.weights.h5 paths show for the first five.
	tests := map[string]string{
		"Dense": "dense", "Conv1D": "conv1d", "BatchNormalization": "batch_normalization",
		"GlobalAveragePooling1D": "global_average_pooling1d", "MaxPooling1D": "max_pooling1d",
		"InputLayer": "input_layer", "LeakyReLU": "leaky_re_lu", "PReLU": "p_re_lu", "ReLU": "re_lu",
		"DepthwiseConv2D": "depthwise_conv2d", "ZeroPadding2D": "zero_padding2d", "ELU": "elu",
	}
	for in, want := range tests {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q; want %q", in, got, want)
		}
	}
	used := map[string]int{}
	var got []string
	for _, c := range []string{"Dense", "Dropout", "Dense", "Dense", "Dropout"} {
		got = append(got, savePath(c, used))
	}
	if want := []string{"dense", "dropout", "dense_1", "dense_2", "dropout_1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("savePath sequence = %v; want %v", got, want)
	}
}
