//go:build linux

package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/xferml/xfer/internal/tensorio"
	"github.com/xferml/xfer/model"
)

// genDataCorpus writes the hostile data files of the corpus: images (for
// images:DIR), CSV files and .npz archives, each damaged in one way.
func genDataCorpus(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"img", "csv", "npz"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(2026, 13)) // fixed: the same corpus every time

	// Images: a 16x16 noise image in each format, cut, flipped, with
	// headers declaring absurd sizes.
	g := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range g.Pix {
		g.Pix[i] = byte(rng.Uint32())
	}
	enc := map[string][]byte{}
	for _, f := range []string{"png", "jpg", "gif", "bmp"} {
		var b bytes.Buffer
		var err error
		switch f {
		case "png":
			err = png.Encode(&b, g)
		case "jpg":
			err = jpeg.Encode(&b, g, nil)
		case "gif":
			err = gif.Encode(&b, g, nil)
		case "bmp":
			err = bmp.Encode(&b, g)
		}
		if err != nil {
			t.Fatal(err)
		}
		enc[f] = b.Bytes()
	}
	img := filepath.Join(dir, "img")
	for f, b := range enc {
		cuts := []int{len(b) / 3, len(b) - 1}
		if f == "gif" {
			cuts = cuts[:1] // a GIF without its trailer byte decodes, as in browsers
		}
		for _, cut := range cuts {
			put(t, img, "cut-"+itoa(cut)+"."+f, b[:cut])
		}
	}
	put(t, img, "cut-9.png", enc["png"][:9])
	put(t, img, "cut-30.jpg", enc["jpg"][:30])
	put(t, img, "flip-ihdr.png", flipBit(enc["png"], 17, 3)) // IHDR width: the CRC no longer matches
	put(t, img, "flip-idat.png", flipBit(enc["png"], len(enc["png"])-30, 5))
	put(t, img, "4gib-header.png", pngHeader(32768, 32768))
	put(t, img, "wide-header.png", pngHeader(1<<20, 1))
	put(t, img, "zero-width.png", pngHeader(0, 16))
	put(t, img, "4gib-header.jpg", jpegSized(enc["jpg"], 65535, 65535))
	gifBig := slices.Clone(enc["gif"])
	binary.LittleEndian.PutUint16(gifBig[6:], 65535)
	binary.LittleEndian.PutUint16(gifBig[8:], 65535)
	put(t, img, "4gib-header.gif", gifBig)
	bmpBig := slices.Clone(enc["bmp"])
	binary.LittleEndian.PutUint32(bmpBig[18:], 100000)
	binary.LittleEndian.PutUint32(bmpBig[22:], 100000)
	put(t, img, "4gib-header.bmp", bmpBig)
	put(t, img, "text.png", []byte("this is not an image\n"))
	put(t, img, "empty.jpg", nil)
	put(t, img, "random.jpg", append([]byte{0xff, 0xd8}, randomBytes(rng, 300)...))
	put(t, img, "random.gif", append([]byte("GIF89a"), randomBytes(rng, 300)...))

	// CSV files for a model of 4 features, label column "label".
	csvDir := filepath.Join(dir, "csv")
	for name, text := range map[string]string{
		"ragged.csv":       "a,b,c,d,label\n1,2,3,4,0\n1,2,3,0\n",
		"text-feature.csv": "a,b,c,d,label\n1,2,x,4,0\n",
		"nan-feature.csv":  "a,b,c,d,label\n1,2,NaN,4,0\n",
		"inf-feature.csv":  "a,b,c,d,label\n1,2,3,+Inf,1\n",
		"empty.csv":        "",
		"header-only.csv":  "a,b,c,d,label\n",
		"label-only.csv":   "label\n1\n0\n",
		"bad-quote.csv":    "a,b,c,d,label\n1,2,\"3,4,0\n",
		"empty-label.csv":  "a,b,c,d,label\n1,2,3,4,cat\n1,2,3,4,\n",
	} {
		put(t, csvDir, name, []byte(text))
	}
	put(t, csvDir, "binary.csv", append([]byte("a,b,c,d,label\n"), randomBytes(rng, 400)...))

	// .npz archives with x_train [5 4] and y_train [5] unless damaged.
	npzDir := filepath.Join(dir, "npz")
	x := make([]float32, 20)
	for i := range x {
		x[i] = float32(i) / 20
	}
	xt := &model.Tensor{DType: model.Float32, Shape: []int{5, 4}, F32: x}
	yt := &model.Tensor{DType: model.Float32, Shape: []int{5}, F32: []float32{0, 1, 1, 0, 1}}
	npy := func(tt *model.Tensor) []byte {
		b, err := tensorio.EncodeNPY(tt)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := writeZip(t, []zipMember{{"x_train.npy", npy(xt), zip.Deflate}, {"y_train.npy", npy(yt), zip.Deflate}})
	put(t, npzDir, "wrong-keys.npz", writeZip(t, []zipMember{{"x.npy", npy(xt), zip.Store}, {"y.npy", npy(yt), zip.Store}}))
	put(t, npzDir, "not-zip.npz", []byte("PK not really a zip archive"))
	for _, cut := range []int{30, len(good) / 2, len(good) - 10} {
		put(t, npzDir, "cut-"+itoa(cut)+".npz", good[:cut])
	}
	put(t, npzDir, "bad-member.npz", writeZip(t, []zipMember{{"x_train.npy", []byte("\x93NUMPY garbage"), zip.Store}, {"y_train.npy", npy(yt), zip.Store}}))
	put(t, npzDir, "duplicate.npz", writeZip(t, []zipMember{{"x_train.npy", npy(xt), zip.Store}, {"x_train.npy", npy(xt), zip.Store}, {"y_train.npy", npy(yt), zip.Store}}))
	bz := writeZip(t, []zipMember{{"x_train.npy", npy(xt), zip.Store}, {"y_train.npy", npy(yt), zip.Store}})
	setMethod(bz, "x_train.npy", 12) // bzip2, which numpy never writes
	put(t, npzDir, "bzip2.npz", bz)
	put(t, npzDir, "rows-mismatch.npz", writeZip(t, []zipMember{{"x_train.npy", npy(xt), zip.Store}, {"y_train.npy", npy(&model.Tensor{DType: model.Float32, Shape: []int{4}, F32: []float32{0, 1, 1, 0}}), zip.Store}}))
	put(t, npzDir, "onehot-sum.npz", writeZip(t, []zipMember{{"x_train.npy", npy(xt), zip.Store}, {"y_train.npy", npy(&model.Tensor{DType: model.Float32, Shape: []int{5, 2}, F32: []float32{1, 1, 0, 1, 1, 0, 0, 1, 1, 0}}), zip.Store}}))
	xn := slices.Clone(x)
	xn[7] = float32(nan())
	put(t, npzDir, "nan-input.npz", writeZip(t, []zipMember{{"x_train.npy", npy(&model.Tensor{DType: model.Float32, Shape: []int{5, 4}, F32: xn}), zip.Store}, {"y_train.npy", npy(yt), zip.Store}}))
	put(t, npzDir, "huge-shape.npz", writeZip(t, []zipMember{{"x_train.npy", npyBytes("<f4", "(1000000, 1000000)", make([]byte, 16)), zip.Store}, {"y_train.npy", npy(yt), zip.Store}}))
	// A deflated member declaring 2 GiB from a few hundred bytes.
	bomb := writeZip(t, []zipMember{{"x_train.npy", npy(xt), zip.Deflate}, {"y_train.npy", npy(yt), zip.Deflate}})
	setDeclaredSize(bomb, "x_train.npy", 2<<30)
	put(t, npzDir, "declared-2gib.npz", bomb)
	// A stored member declaring more than it stores.
	lying := writeZip(t, []zipMember{{"x_train.npy", npy(xt), zip.Store}, {"y_train.npy", npy(yt), zip.Store}})
	setDeclaredSize(lying, "x_train.npy", 1000)
	put(t, npzDir, "stored-size-lie.npz", lying)
}

func itoa(n int) string {
	return string(rune('0'+n/1000%10)) + string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

func nan() float64 { z := 0.0; return z / z }

// pngHeader is a PNG signature and a valid IHDR declaring w x h RGBA pixels.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := append([]byte("IHDR"), binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)...)
	chunk = append(chunk, 8, 6, 0, 0, 0)
	b.Write([]byte{0, 0, 0, 13})
	b.Write(chunk)
	b.Write(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(chunk)))
	return b.Bytes()
}

// jpegSized is the JPEG b with its frame header declaring w x h pixels.
func jpegSized(b []byte, w, h uint16) []byte {
	b = slices.Clone(b)
	i := bytes.Index(b, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

// setDeclaredSize rewrites the uncompressed size a zip's local and central
// headers declare for member name.
func setDeclaredSize(b []byte, name string, size uint32) {
	for i := 0; i+30 < len(b); i++ {
		switch {
		case bytes.HasPrefix(b[i:], []byte("PK\x03\x04")) && bytes.HasPrefix(b[i+30:], []byte(name)):
			binary.LittleEndian.PutUint32(b[i+22:], size)
		case bytes.HasPrefix(b[i:], []byte("PK\x01\x02")) && i+46 < len(b) && bytes.HasPrefix(b[i+46:], []byte(name)):
			binary.LittleEndian.PutUint32(b[i+24:], size)
		}
	}
}

// setMethod rewrites the compression method of member name.
func setMethod(b []byte, name string, method uint16) {
	for i := 0; i+30 < len(b); i++ {
		switch {
		case bytes.HasPrefix(b[i:], []byte("PK\x03\x04")) && bytes.HasPrefix(b[i+30:], []byte(name)):
			binary.LittleEndian.PutUint16(b[i+8:], method)
		case bytes.HasPrefix(b[i:], []byte("PK\x01\x02")) && i+46 < len(b) && bytes.HasPrefix(b[i+46:], []byte(name)):
			binary.LittleEndian.PutUint16(b[i+10:], method)
		}
	}
}

// imgDir returns an image folder holding file in its one class folder, so
// that images:DIR reads it (a folder of one bad image: none decodes).
func imgDir(t *testing.T, file string) string {
	dir := t.TempDir()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	put(t, filepath.Join(dir, "a"), filepath.Base(file), b)
	return dir
}
