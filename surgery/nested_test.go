package surgery

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	kin "github.com/xferml/xfer/importers/keras"
	"github.com/xferml/xfer/internal/peers"
	"github.com/xferml/xfer/model"
)

// flags renders the trainable flags of the entries at scope as Keras's
// [layer.trainable for layer in model.layers] would, T or F each.
func flags(m *model.Model, scope string) string {
	var b strings.Builder
	for _, it := range m.Items(scope) {
		on := false
		if it.Sub != nil {
			on = it.Sub.Trainable
		} else {
			on = it.Layer.Trainable
		}
		if on {
			b.WriteByte('T')
		} else {
			b.WriteByte('F')
		}
	}
	return b.String()
}

// TestNestedFreeze runs the Keras transfer-learning guide on the shared
// transfer model (input, frozen base "resnet_base" of 27 layers called with
// training=False, pooling, dropout, dense head): what Keras would show for
// model.layers and base.layers after each step, and the trainable counts.
func TestNestedFreeze(t *testing.T) {
	dir := peers.Interop(t, "keras-apps", "freeze/unfreeze on a nested Keras model")
	m, err := kin.ReadFile(filepath.Join(dir, "transfer_resnet_nested.keras"), kin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The base has 27 layers: its InputLayer (which a file keeps trainable,
	// as Keras shows it), then 26 frozen ones.
	asRead := "T" + strings.Repeat("F", 26)
	// Param counts are Keras's (transfer_resnet_nested manifest: 24,963 in
	// all, the Dense head 32*3+3 = 99, 8 BatchNormalizations with 2x(5x16 +
	// 3x32) = 352 moving statistics); the base's last 9 layers are
	// block3_conv1 .. block3_out, whose trainable params are conv1 4,640 +
	// bn1 64 + conv2 9,248 + proj 544 + bn2 64 + proj_bn 64 = 14,624; of
	// them block3_conv1 has 4,640.
	tests := []struct {
		name      string
		op        func(*model.Model) (*model.Model, error)
		top, base string
		trainable int
	}{
		{"as read", func(m *model.Model) (*model.Model, error) { return m.Clone(), nil }, "TFTTT", asRead, 99},
		{"unfreeze the top 9 of the base", func(m *model.Model) (*model.Model, error) { return UnfreezeAt(m, "resnet_base:-9") }, "TTTTT", "T" + strings.Repeat("F", 17) + strings.Repeat("T", 9), 99 + 14624},
		{"unfreeze by name", func(m *model.Model) (*model.Model, error) { return UnfreezeAt(m, "resnet_base/block3_conv1") }, "TTTTT", "T" + strings.Repeat("F", 17) + strings.Repeat("T", 9), 99 + 14624},
		{"unfreeze the base", func(m *model.Model) (*model.Model, error) { return Unfreeze(m, 1) }, "TTTTT", strings.Repeat("T", 27), 24963 - 352},
		{"freeze the head too", func(m *model.Model) (*model.Model, error) { return Freeze(m, -1) }, "FFFFF", strings.Repeat("F", 27), 0},
		{"freeze inside, then unfreeze the head", func(m *model.Model) (*model.Model, error) {
			u, err := Unfreeze(m, 1)
			if err != nil {
				return nil, err
			}
			return FreezeAt(u, "resnet_base:18")
		}, "FTTTT", strings.Repeat("F", 19) + strings.Repeat("T", 8), 99 + 14624 - 4640},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkPure(t, m, tt.op)
			if f := flags(got, ""); f != tt.top {
				t.Errorf("model.layers trainable = %s; want %s", f, tt.top)
			}
			if f := flags(got, "resnet_base"); f != tt.base {
				t.Errorf("base.layers trainable = %s; want %s", f, tt.base)
			}
			if _, tr, _ := got.ParamCounts(); tr != tt.trainable {
				t.Errorf("trainable params = %d; want %d", tr, tt.trainable)
			}
			if s := got.Submodel("resnet_base"); s.Training == nil || *s.Training {
				t.Errorf("the base's training=False call was lost")
			}
			if err := got.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
	for _, c := range []struct{ ref, want string }{
		{"resnet_base:27", `--from resnet_base:27 is out of range: nested model "resnet_base" has 27 layers`},
		{"dense:1", `"dense" is a Dense layer, not a nested model`},
		{"resnet_base/nope", `nested model "resnet_base" has no layer called "nope" (its layers: input_layer_3, stem_conv,`},
		{"-6", `model "transfer_resnet_nested" has 5 layers`},
	} {
		if _, err := UnfreezeAt(m, c.ref); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("UnfreezeAt(%q) = %v; want ErrUsage containing %q", c.ref, err, c.want)
		}
	}
}
