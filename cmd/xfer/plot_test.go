package main

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/xferml/xfer/finetune"
)

func TestPlotCurves(t *testing.T) {
	v := 0.5
	h := &finetune.History{Epochs: []finetune.Epoch{{Epoch: 1, Loss: 1, Accuracy: 0.5, ValLoss: &v, ValAccuracy: &v}, {Epoch: 2, Loss: 0.5, Accuracy: 0.8}}}
	curves := []curve{{"A", h}, {"empty", nil}}
	dir := t.TempDir()
	for _, tt := range []struct {
		file  string
		magic string // how each format's files begin
	}{
		{"curves.png", "\x89PNG\r\n\x1a\n"},
		{"curves.SVG", "<?xml"},
		{"curves.pdf", "%PDF-"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			p := filepath.Join(dir, tt.file)
			if err := plotCurves(p, curves); err != nil {
				t.Fatalf("plotCurves(%s) = %v", tt.file, err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte(tt.magic)) {
				t.Errorf("plotCurves(%s) wrote %q...; want a file beginning %q", tt.file, b[:min(len(b), 8)], tt.magic)
			}
			if filepath.Ext(tt.file) == ".png" {
				img, err := png.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("plotCurves wrote a bad PNG: %v", err)
				}
				if r := img.Bounds(); r.Dx() < 600 || r.Dy() < 250 {
					t.Errorf("PNG is %v; want at least 600x250", r)
				}
			}
		})
	}
	for _, tt := range []struct {
		file  string
		usage bool
	}{
		{filepath.Join(dir, "curves.gif"), true},
		{filepath.Join(dir, "no", "such", "dir.png"), false},
	} {
		err := plotCurves(tt.file, curves)
		var u *usageError
		if err == nil || errors.As(err, &u) != tt.usage {
			t.Errorf("plotCurves(%s) = %v; want an error (usage error: %v)", tt.file, err, tt.usage)
		}
	}
}
