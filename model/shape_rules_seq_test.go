package model

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestSeqShapeRules: the recurrent ops,
// with the expected shapes worked from the ONNX operator docs' formulas.
func TestSeqShapeRules(t *testing.T) {
	f := Float32
	tests := []shapeCase{
		{name: "lstm bidirectional", opset: 13, inputs: []*Value{v("x", f, 7, -1, 3), v("w", f, 2, 16, 3), v("r", f, 2, 16, 4)},
			node: nd("LSTM", []string{"x", "w", "r"}, map[string]Attr{"hidden_size": Int(4), "direction": String("bidirectional")}, "y", "yh", "yc"),
			want: [][]int{{7, 2, -1, 4}, {2, -1, 4}, {2, -1, 4}}},
		{name: "gru layout 1", opset: 14, inputs: []*Value{v("x", f, -1, 7, 3), v("w", f, 1, 12, 3), v("r", f, 1, 12, 4)},
			node: nd("GRU", []string{"x", "w", "r"}, map[string]Attr{"hidden_size": Int(4), "layout": Int(1)}, "y", "yh"),
			want: [][]int{{-1, 7, 1, 4}, {-1, 1, 4}}},
		{name: "rnn gates", opset: 13, inputs: []*Value{v("x", f, 7, 2, 3), v("w", f, 1, 8, 3), v("r", f, 1, 8, 8)},
			node: nd("RNN", []string{"x", "w", "r"}, map[string]Attr{"hidden_size": Int(4)}, "y", "yh"), wantErr: "does not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, err := tt.model().InferShapes()
			if tt.wantErr != "" {
				if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("InferShapes(%s) = %v; want ErrShape containing %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("InferShapes(%s) = %v", tt.name, err)
			}
			for k, want := range tt.want {
				if got := vals[tt.node.Outputs[k]].Shape; !slices.Equal(got, want) {
					t.Errorf("InferShapes(%s) output %d = %v; want %v", tt.name, k, got, want)
				}
			}
		})
	}
}
