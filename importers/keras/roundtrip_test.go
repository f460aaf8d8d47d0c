package keras_test

import (
	"path/filepath"
	"slices"
	"testing"

	kout "github.com/xferml/xfer/exporters/keras"
	"github.com/xferml/xfer/importers/keras"
)

// TestKeras3PathsRoundTrip writes models whose layer names differ from
// Keras 3's class-based save paths (fc layers named "dense_a"... and a
// second Conv2D) as .keras and reads them back: every param must come back
// from its own layer.
func TestKeras3PathsRoundTrip(t *testing.T) {
	for _, src := range []string{"testdata/kinds2d.h5", "testdata/kinds1d.h5", "testdata/acts3.h5"} {
		m, err := keras.ReadFile(src, keras.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "m.keras")
		if err := kout.WriteKeras(p, m); err != nil {
			t.Fatalf("WriteKeras(%s) = %v", src, err)
		}
		back, err := keras.ReadFile(p, keras.Options{})
		if err != nil {
			t.Fatalf("ReadFile(WriteKeras(%s)) = %v", src, err)
		}
		for _, l := range m.Layers {
			bl := back.Layer(l.Name)
			if bl == nil {
				t.Errorf("%s: layer %s lost", src, l.Name)
				continue
			}
			if len(bl.Params) != len(l.Params) {
				t.Errorf("%s: layer %s has %d params after the round trip; want %d", src, l.Name, len(bl.Params), len(l.Params))
				continue
			}
			// Compared by position: roles may be renamed between Keras 2
			// and 3 (DepthwiseConv2D's depthwise_kernel is Keras 3's kernel).
			for i, prm := range l.Params {
				bp := bl.Params[i]
				if !slices.Equal(bp.Shape, prm.Shape) || !slices.Equal(bp.Data, prm.Data) || bp.Trainable != prm.Trainable {
					t.Errorf("%s: param %s differs after .keras round trip", src, prm.Name)
				}
			}
		}
	}
}
