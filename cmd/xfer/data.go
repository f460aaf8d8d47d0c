package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/model"
)

// dataFlags are the flags that say how --data is read, shared by finetune
// and evaluate.
func dataFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data-dir", Usage: "`DIR` holding Fashion-MNIST's IDX files (MNIST's in DIR/mnist)"},
		&cli.StringFlag{Name: "image-size", Usage: "resize images:DIR images to `HxW` (bilinear, as Keras; default: the model's input size)"},
		&cli.StringFlag{Name: "color-mode", Usage: "images:DIR channels: rgb or grayscale (default: grayscale for a 1-channel model input, else rgb)"},
		&cli.BoolFlag{Name: "strict", Usage: "refuse an image folder with unreadable images instead of skipping them"},
		&cli.Int64Flag{Name: "cache-mb", Value: 256, Usage: "keep at most `MB` of decoded images:DIR images in memory between epochs (the rest are decoded again)"},
		&cli.StringFlag{Name: "label", Usage: "the label `COLUMN` of a csv:FILE data set"},
		&cli.StringFlag{Name: "rescale", Usage: "scale inputs as a Keras Rescaling layer: `SCALE[,OFFSET]`, e.g. 1/255 or 1/127.5,-1"},
	}
}

// dataSpec is how a command reads its --data: the options, completed from
// the model by forModel.
type dataSpec struct {
	opts     dataset.Options
	colorSet bool // --color-mode given
}

// dataOptions reads the data flags.
func dataOptions(c *cli.Context, cmd string, warn io.Writer) (dataSpec, error) {
	d, err := readDataFlags(c, cmd, warn)
	return dataSpec{opts: d, colorSet: c.String("color-mode") != ""}, err
}

// forModel returns the options with the image size and colour mode taken
// from m's input ([N H W C]) where the flags did not give them.
func (d dataSpec) forModel(m *model.Model) dataset.Options {
	o := d.opts
	if m != nil && len(m.Inputs) == 1 {
		if s := m.Inputs[0].Shape; len(s) == 4 && s[1] > 0 && s[2] > 0 {
			if o.Image.Height == 0 {
				o.Image.Height, o.Image.Width = s[1], s[2]
			}
			if !d.colorSet && s[3] == 1 {
				o.Image.Grayscale = true
			}
		}
	}
	return o
}

func readDataFlags(c *cli.Context, cmd string, warn io.Writer) (dataset.Options, error) {
	o := dataset.Options{DataDir: c.String("data-dir"), Label: c.String("label"), Seed: c.Int64("seed")}
	if warn != nil {
		o.Warn = func(s string) { fmt.Fprintf(warn, "%s: %s\n", cmd, s) }
	}
	if v := c.String("image-size"); v != "" {
		h, w, err := parseImageSize(v)
		if err != nil {
			return o, usagef("%s: --image-size %q: %v", cmd, v, err)
		}
		o.Image.Height, o.Image.Width = h, w
	}
	switch c.String("color-mode") {
	case "":
	case "rgb":
	case "grayscale":
		o.Image.Grayscale = true
	default:
		return o, usagef("%s: --color-mode %q: want rgb or grayscale", cmd, c.String("color-mode"))
	}
	o.Image.Strict = c.Bool("strict")
	mb := c.Int64("cache-mb")
	if mb < 0 || mb > 1<<40 {
		return o, usagef("%s: --cache-mb %d: want 0 or more", cmd, mb)
	}
	o.Image.CacheBytes = mb << 20
	if mb == 0 {
		o.Image.CacheBytes = -1
	}
	if v := c.String("rescale"); v != "" {
		r, err := parseRescale(v)
		if err != nil {
			return o, usagef("%s: --rescale %q: %v", cmd, v, err)
		}
		o.Rescale = r
	}
	return o, nil
}

// parseImageSize reads "HxW" (or one number for a square).
func parseImageSize(v string) (h, w int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(v), "x")
	if !ok {
		b = a
	}
	h, err1 := strconv.Atoi(a)
	w, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || h < 1 || w < 1 || h > 1<<16 || w > 1<<16 {
		return 0, 0, fmt.Errorf("want HxW in pixels, e.g. 96x96")
	}
	return h, w, nil
}

// parseRescale reads "SCALE[,OFFSET]", SCALE a number or A/B.
func parseRescale(v string) (dataset.Rescaling, error) {
	sv, ov, hasOff := strings.Cut(v, ",")
	num := func(s string) (float64, error) {
		a, b, frac := strings.Cut(strings.TrimSpace(s), "/")
		x, err := strconv.ParseFloat(a, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		if frac {
			y, err := strconv.ParseFloat(b, 64)
			if err != nil || y == 0 {
				return 0, fmt.Errorf("%q is not a fraction", s)
			}
			x /= y
		}
		return x, nil
	}
	scale, err := num(sv)
	if err != nil {
		return dataset.Rescaling{}, err
	}
	if scale == 0 {
		return dataset.Rescaling{}, fmt.Errorf("a scale of 0 erases the inputs")
	}
	var off float64
	if hasOff {
		if off, err = num(ov); err != nil {
			return dataset.Rescaling{}, err
		}
	}
	return dataset.Rescaling{Scale: float32(scale), Offset: float32(off)}, nil
}

// checkOutPath refuses, before any work, an output path whose folder does
// not exist or cannot be written, or that names a folder.
func checkOutPath(cmd, flag, path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("%s: %s %s is a folder; give a file name", cmd, flag, path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return usagef("%s: %s %s: folder %s does not exist; create it first", cmd, flag, path, dir)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return usagef("%s: %s %s: folder %s is not writable: %v", cmd, flag, path, dir, err)
	}
	return nil
}
