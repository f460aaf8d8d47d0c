package dataset

import (
	"bytes"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/xferml/xfer/internal/limits"
)

// TestNumpyShuffle compares with NumPy 1.24:
// r = np.random.RandomState(seed); x = list(range(n)); r.shuffle(x).
func TestNumpyShuffle(t *testing.T) {
	tests := []struct {
		seed uint32
		n    int
		want []int // the first values NumPy prints
	}{
		{0, 2, []int{1, 0}},
		{0, 5, []int{2, 0, 1, 3, 4}},
		{0, 10, []int{2, 8, 4, 9, 1, 6, 7, 3, 0, 5}},
		{0, 100, []int{26, 86, 2, 55, 75, 93, 16, 73, 54, 95, 53, 92}},
		{1, 10, []int{2, 9, 6, 4, 0, 3, 1, 7, 8, 5}},
		{42, 100, []int{83, 53, 70, 45, 44, 39, 22, 80, 10, 0, 18, 30}},
		{1337, 10, []int{6, 3, 0, 4, 5, 2, 1, 9, 8, 7}},
		{123456, 100, []int{22, 11, 59, 62, 33, 41, 97, 90, 77, 27, 99, 95}},
		{4294967295, 100, []int{92, 36, 80, 77, 31, 6, 69, 20, 21, 81, 29, 48}},
	}
	for _, tt := range tests {
		x := make([]int, tt.n)
		for i := range x {
			x[i] = i
		}
		numpyShuffle(tt.seed, tt.n, func(i, j int) { x[i], x[j] = x[j], x[i] })
		if !slices.Equal(x[:len(tt.want)], tt.want) {
			t.Errorf("numpyShuffle(%d, %d) = %v; want %v (NumPy)", tt.seed, tt.n, x[:len(tt.want)], tt.want)
		}
	}
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// grayImage is a w x h gray image with pixel (x, y) = v + x + 10y.
func grayImage(w, h int, v uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.SetGray(x, y, color.Gray{v + uint8(x+10*y)})
		}
	}
	return g
}

func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 100})
	case "gif":
		// A gray palette, so that gray values survive exactly.
		pal := make(color.Palette, 256)
		for i := range pal {
			pal[i] = color.Gray{uint8(i)}
		}
		p := image.NewPaletted(img.Bounds(), pal)
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				p.Set(x, y, img.At(x, y))
			}
		}
		err = gif.Encode(&b, p, nil)
	case "bmp":
		err = bmp.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestIndexImagesKerasOrder: classes are the sorted sub-folders (hidden
// ones and files skipped), files are found recursively by extension
// (case-insensitive), sorted by folder then name, as Keras's
// index_directory lists them.
func TestIndexImagesKerasOrder(t *testing.T) {
	dir := t.TempDir()
	p := encode(t, "png", grayImage(3, 3, 0))
	for _, f := range []string{"b/2.png", "b/10.PNG", "b/sub/a.jpg", "b/note.txt", "a/x.gif", ".hidden/y.png", "B2/z.bmp"} {
		writeFile(t, filepath.Join(dir, f), p)
	}
	writeFile(t, filepath.Join(dir, "top.png"), p)
	classes, paths, labels, err := indexImages(dir)
	if err != nil {
		t.Fatal(err)
	}
	rel := make([]string, len(paths))
	for i, p := range paths {
		rel[i], _ = filepath.Rel(dir, p)
	}
	wantClasses := []string{"B2", "a", "b"} // Python's sorted(): upper case first
	wantPaths := []string{"B2/z.bmp", "a/x.gif", "b/10.PNG", "b/2.png", "b/sub/a.jpg"}
	if !slices.Equal(classes, wantClasses) || !slices.Equal(rel, wantPaths) || !slices.Equal(labels, []int{0, 1, 2, 2, 2}) {
		t.Errorf("indexImages = %v %v %v; want %v %v [0 1 2 2 2]", classes, rel, labels, wantClasses, wantPaths)
	}
}

// TestLoadImagesFormats: each format decodes by content (a PNG named .jpg
// too), gray and colour convert as Keras's decoders do, and bad files are
// skipped and reported, or refused with Strict.
func TestLoadImagesFormats(t *testing.T) {
	dir := t.TempDir()
	g := grayImage(4, 3, 20)
	rgb := image.NewNRGBA(image.Rect(0, 0, 4, 3))
	for i := 0; i < len(rgb.Pix); i += 4 {
		rgb.Pix[i], rgb.Pix[i+1], rgb.Pix[i+2], rgb.Pix[i+3] = 200, 100, 50, 128 // alpha is dropped
	}
	writeFile(t, filepath.Join(dir, "a", "1.png"), encode(t, "png", g))
	writeFile(t, filepath.Join(dir, "a", "2.jpg"), encode(t, "png", g)) // a PNG named .jpg
	writeFile(t, filepath.Join(dir, "a", "3.gif"), encode(t, "gif", g))
	writeFile(t, filepath.Join(dir, "a", "4.bmp"), encode(t, "bmp", g))
	writeFile(t, filepath.Join(dir, "b", "5.png"), encode(t, "png", rgb))
	writeFile(t, filepath.Join(dir, "b", "6.jpeg"), encode(t, "jpeg", g))
	writeFile(t, filepath.Join(dir, "b", "7.png"), encode(t, "png", g)[:40]) // truncated
	writeFile(t, filepath.Join(dir, "b", "8.jpg"), []byte("not an image"))
	var warned []string
	warn := func(s string) { warned = append(warned, s) }
	o := ImageOptions{Height: 3, Width: 4}
	s, v, err := LoadImages(dir, o, 0, 0, warn)
	if err != nil || v != nil {
		t.Fatalf("LoadImages: %v, valid %v", err, v)
	}
	if s.Len() != 6 || !slices.Equal(s.Shape(), []int{3, 4, 3}) || s.Classes != 2 || !slices.Equal(s.ClassNames, []string{"a", "b"}) {
		t.Fatalf("LoadImages: %d examples of %v, %d classes %v; want 6 of [3 4 3], 2 [a b]", s.Len(), s.Shape(), s.Classes, s.ClassNames)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "skipped 2 of 8") || !strings.Contains(warned[0], "7.png") || !strings.Contains(warned[0], "8.jpg") {
		t.Errorf("warnings %q; want one naming 2 of 8 skipped, 7.png and 8.jpg", warned)
	}
	// Read every example back in file order (the set is shuffled).
	x := make([]float32, s.Len()*s.RowSize())
	y := make([]float32, s.Len())
	if err := s.Batch(s.Order(nil), x, y); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < s.Len(); i++ {
		img := x[i*36 : (i+1)*36]
		if y[i] == 1 && img[0] == 200 { // the RGB PNG: alpha dropped, no blending
			if !slices.Equal(img[:3], []float32{200, 100, 50}) {
				t.Errorf("RGBA PNG pixel = %v; want [200 100 50]", img[:3])
			}
			continue
		}
		// Gray images replicate into RGB; pixel (x=1, y=2) is 20+1+20.
		tol := float32(0)
		if y[i] == 1 {
			tol = 2 // the JPEG
		}
		if d := img[(2*4+1)*3] - 41; d > tol || d < -tol || img[(2*4+1)*3+1] != img[(2*4+1)*3] {
			t.Errorf("example %d (label %v): pixel (1,2) = %v; want 41 in every channel", i, y[i], img[(2*4+1)*3:(2*4+1)*3+3])
		}
	}
	lo, hi := s.Range()
	if lo < 18 || hi > 200 { // the JPEG may undershoot 20 by 2
		t.Errorf("Range = %v..%v; want within 18..200", lo, hi)
	}
	o.Strict = true
	if _, _, err := LoadImages(dir, o, 0, 0, nil); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "--strict") {
		t.Errorf("LoadImages strict: %v; want ErrFormat naming --strict", err)
	}
	o = ImageOptions{Height: 2, Width: 2, Grayscale: true}
	s, _, err = LoadImages(dir, o, 0, 0, nil)
	if err != nil || !slices.Equal(s.Shape(), []int{2, 2, 1}) {
		t.Fatalf("grayscale: %v %v", err, s.Shape())
	}
}

// TestLoadImagesSplitAndStream: the validation split takes the files Keras
// takes; batches are the same from the cache or decoded again; bad sizes
// and a header declaring 4 GiB of pixels are refused.
func TestLoadImagesSplitAndStream(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 10; i++ {
		c := []string{"cat", "dog"}[i%2]
		writeFile(t, filepath.Join(dir, c, string(rune('a'+i))+".png"), encode(t, "png", grayImage(5, 5, uint8(10*i))))
	}
	o := ImageOptions{Height: 3, Width: 3, Grayscale: true}
	tr, va, err := LoadImages(dir, o, 0.25, 1337, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Keras: paths sorted (cat: a c e g i, dog: b d f h j), shuffled by
	// RandomState(1337) = [6 3 0 4 5 2 1 9 8 7] (TestNumpyShuffle); the
	// last int(0.25*10) = 2 are validation: indices 8, 7 = dog/h, dog/f.
	if tr.Len() != 8 || va.Len() != 2 {
		t.Fatalf("split sizes %d, %d; want 8, 2", tr.Len(), va.Len())
	}
	src := va.src.(*subSource)
	base := src.base.(*imageSource)
	var got []string
	for _, j := range src.idx {
		got = append(got, filepath.Base(base.paths[j]))
	}
	if !slices.Equal(got, []string{"h.png", "f.png"}) {
		t.Errorf("validation files %v; want [h.png f.png] (Keras's)", got)
	}
	// Streamed batches equal with and without the cache.
	o.CacheBytes = -1
	tr2, _, err := LoadImages(dir, o, 0.25, 1337, nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{3, 0, 7}
	x1, x2 := make([]float32, 27), make([]float32, 27)
	y1, y2 := make([]float32, 3), make([]float32, 3)
	tr.Rescale = Rescaling{Scale: 1.0 / 255}
	tr2.Rescale = tr.Rescale
	if err := tr.Batch(idx, x1, y1); err != nil {
		t.Fatal(err)
	}
	if err := tr2.Batch(idx, x2, y2); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x1, x2) || !slices.Equal(y1, y2) || slices.Max(x1) > 1 {
		t.Errorf("cached %v %v and decoded %v %v batches differ (or are not rescaled)", x1, y1, x2, y2)
	}
	if len(tr2.src.(*subSource).base.(*imageSource).cache) != 0 {
		t.Error("CacheBytes -1 still cached images")
	}
	if _, _, err := LoadImages(dir, ImageOptions{Height: -1, Width: 3}, 0, 0, nil); !errors.Is(err, ErrSpec) {
		t.Errorf("height -1: %v; want ErrSpec", err)
	}
	if _, _, err := LoadImages(dir, o, 0.01, 0, nil); !errors.Is(err, ErrSpec) {
		t.Errorf("split leaving no validation image: %v; want ErrSpec", err)
	}
}

// hugePNGHeader is a PNG signature and IHDR declaring w x h RGBA pixels.
func hugePNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w), byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h), 8, 6, 0, 0, 0}
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write([]byte{0, 0, 0, 13})
	b.Write(chunk)
	crc := crc32IEEE(chunk)
	b.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return b.Bytes()
}

func TestDecodeImageGuards(t *testing.T) {
	defer limits.Set(64 << 20)()
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"4 GiB of pixels", hugePNGHeader(32768, 32768), "larger than xfer's memory ceiling"},
		{"side too long", hugePNGHeader(1<<20, 1), "at most 65536 on a side"},
		{"zero width", hugePNGHeader(0, 5), "png header"},
		{"empty", nil, "not a PNG, JPEG, GIF or BMP"},
		{"text", []byte("hello"), "not a PNG, JPEG, GIF or BMP"},
		{"truncated png", hugePNGHeader(4, 4), "png data"},
		{"jpeg magic only", []byte{0xff, 0xd8, 0xff}, "jpeg header"},
		{"bmp magic only", []byte("BM"), "bmp header"},
	}
	for _, tt := range tests {
		_, err := decodeImage(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("decodeImage(%s) = %v; want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func FuzzDecodeImage(f *testing.F) {
	g := grayImage(5, 4, 7)
	for _, format := range []string{"png", "jpeg", "gif", "bmp"} {
		f.Add(encode(f, format, g))
	}
	f.Add(hugePNGHeader(32768, 32768))
	f.Fuzz(func(t *testing.T, b []byte) {
		defer limits.Set(64 << 20)()
		img, err := decodeImage(b)
		if err != nil {
			return
		}
		dst := make([]float32, 3*3*3)
		resizeImage(img, 3, 3, 3, dst)
	})
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
