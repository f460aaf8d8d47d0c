package layers_test

import (
	"encoding/json"
	"testing"

	"github.com/xferml/xfer/layers"
)

// TestCropping crops a [1, 2, 3, 4] tensor holding 0..23 both ways:
// channels_last crops axes 1 and 2, channels_first axes 2 and 3 (Keras's
// Cropping2D data_format), and checks the config written without one.
func TestCropping(t *testing.T) {
	x := make([]float32, 24)
	for i := range x {
		x[i] = float32(i)
	}
	tests := []struct {
		name          string
		crop          [][2]int
		channelsFirst bool
		want          []float64
		shape         []int
		config        string
	}{
		// rows 1..1 of 2, columns 1..1 of 3: x[0, 1, 1, :] = 16..19.
		{"channels_last", [][2]int{{1, 0}, {1, 1}}, false, []float64{16, 17, 18, 19}, []int{1, 1, 1, 4},
			`{"name": "crop", "trainable": true, "dtype": "float32", "cropping": [[1, 0], [1, 1]], "data_format": "channels_last"}`},
		// axis 2 keeps 1..2 of 3, axis 3 keeps 0..1 of 4 (a channel split).
		{"channels_first", [][2]int{{1, 0}, {0, 2}}, true, []float64{4, 5, 8, 9, 16, 17, 20, 21}, []int{1, 2, 2, 2},
			`{"name": "crop", "trainable": true, "dtype": "float32", "cropping": [[1, 0], [0, 2]], "data_format": "channels_first"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := layers.Cropping(layers.CroppingSpec{Common: layers.Common{Name: "crop", Inputs: []string{"x"}, Trainable: true}, Cropping: tc.crop, ChannelsFirst: tc.channelsFirst})
			if err != nil {
				t.Fatal(err)
			}
			y := run(t, l, [][]int{{1, 2, 3, 4}}, x)
			if len(y.Shape) != 4 || y.Shape[1] != tc.shape[1] || y.Shape[2] != tc.shape[2] || y.Shape[3] != tc.shape[3] {
				t.Fatalf("Cropping shape %v; want %v", y.Shape, tc.shape)
			}
			checkClose(t, "Cropping", y.F32, tc.want)
			if string(l.Config) != tc.config || !json.Valid(l.Config) {
				t.Errorf("Cropping config = %s; want %s", l.Config, tc.config)
			}
		})
	}
	if _, err := layers.Cropping(layers.CroppingSpec{Common: layers.Common{Name: "c", Inputs: []string{"x"}}, Cropping: [][2]int{{1, 1}}, ChannelsFirst: true}); err == nil {
		t.Errorf("Cropping1D channels_first: no error; want one")
	}
}
