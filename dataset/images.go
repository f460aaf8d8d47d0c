package dataset

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/image/bmp"

	"github.com/xferml/xfer/internal/limits"
)

// imageExts are the extensions Keras's image_dataset_from_directory
// indexes (ALLOWLIST_FORMATS, compared lower-cased); the format itself is
// told by content.
var imageExts = []string{".bmp", ".gif", ".jpeg", ".jpg", ".png"}

// imageFormats are the decoders, tried by magic bytes (not by extension).
var imageFormats = map[string]struct {
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}{
	"png":  {png.Decode, png.DecodeConfig},
	"jpeg": {jpeg.Decode, jpeg.DecodeConfig},
	"gif":  {gif.Decode, gif.DecodeConfig}, // the first frame, as Keras (expand_animations=False)
	"bmp":  {bmp.Decode, bmp.DecodeConfig},
}

// sniffImage names the format of b by its magic bytes, or "".
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("\xff\xd8")):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case bytes.HasPrefix(b, []byte("BM")):
		return "bmp"
	}
	return ""
}

// Default image size, Keras's image_dataset_from_directory default.
const defaultImageSide = 256

// maxImageFileBytes bounds one image file read into memory.
const maxImageFileBytes = 1 << 30

// ImageOptions say how an image folder becomes a data set: Keras's
// image_dataset_from_directory arguments.
type ImageOptions struct {
	// Height and Width of the resized images (0: Keras's 256x256).
	Height, Width int
	// Grayscale gives 1 channel (PIL's "L" luma, ITU-R 601-2), else 3 (RGB;
	// alpha dropped, gray replicated), Keras's color_mode.
	Grayscale bool
	// Strict refuses a folder with any image that does not decode;
	// otherwise such files are skipped and reported through Warn.
	Strict bool
	// CacheBytes bounds the decoded, resized images kept in memory between
	// epochs (0: 256 MiB; negative: none). The rest are decoded again when
	// a batch needs them, so memory does not grow with the folder.
	CacheBytes int64
}

func (o ImageOptions) size() (int, int) {
	h, w := o.Height, o.Width
	if h == 0 {
		h = defaultImageSide
	}
	if w == 0 {
		w = defaultImageSide
	}
	return h, w
}

func (o ImageOptions) channels() int {
	if o.Grayscale {
		return 1
	}
	return 3
}

// indexImages lists dir as Keras's index_directory does with
// labels="inferred": the class names are the sub-folders not starting with
// ".", sorted; each class's files are those with an image extension found
// by walking its folder (sorted by folder, then by name; symbolic links to
// folders are not followed); the labels are the class indices.
func indexImages(dir string) (classes, paths []string, labels []int, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dataset: images:%s: %w", dir, err)
	}
	for _, e := range ents { // ReadDir sorts by name, as Python's sorted(listdir)
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 { // os.path.isdir follows links
			if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil {
				isDir = st.IsDir()
			}
		}
		if isDir {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) == 0 {
		return nil, nil, nil, fmt.Errorf("dataset: images:%s: no class sub-folders (want one sub-folder of images per class, as Keras's image_dataset_from_directory): %w", dir, ErrFormat)
	}
	for ci, c := range classes {
		var found []string
		root := filepath.Join(dir, c)
		// os.walk(top) yields (root, files) per folder; Keras sorts by
		// root and then files. WalkDir visits a folder's entries in name
		// order, so collect per folder and sort by folder path.
		perDir := map[string][]string{}
		werr := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root {
					return err
				}
				return nil // os.walk ignores unreadable folders
			}
			if d.IsDir() {
				return nil
			}
			name := d.Name()
			if d.Type()&fs.ModeSymlink != 0 {
				if st, err := os.Stat(p); err != nil || st.IsDir() {
					return nil // a link to a folder is not followed; a dangling link is not a file
				}
			}
			low := strings.ToLower(name)
			for _, ext := range imageExts {
				if strings.HasSuffix(low, ext) {
					perDir[filepath.Dir(p)] = append(perDir[filepath.Dir(p)], p)
					break
				}
			}
			return nil
		})
		if werr != nil {
			return nil, nil, nil, fmt.Errorf("dataset: images:%s: %w", dir, werr)
		}
		dirs := make([]string, 0, len(perDir))
		for d := range perDir {
			dirs = append(dirs, d)
		}
		slices.Sort(dirs)
		for _, d := range dirs {
			found = append(found, perDir[d]...)
		}
		for _, p := range found {
			paths = append(paths, p)
			labels = append(labels, ci)
		}
	}
	return classes, paths, labels, nil
}

// imageSource streams examples from image files: decoded and resized when
// a batch needs them, or taken from a bounded cache.
type imageSource struct {
	paths     []string
	h, w, c   int
	grayscale bool
	mu        sync.RWMutex
	cache     map[int][]float32
	cacheLeft int64
}

func (s *imageSource) rowSize() int { return s.h * s.w * s.c }

func (s *imageSource) fetch(idx []int, x []float32) error {
	rs := s.rowSize()
	return parallel(len(idx), func(i int) error {
		return s.load(idx[i], x[i*rs:(i+1)*rs], false)
	})
}

// load writes example j into dst, from the cache or the file; keep caches
// it while there is room.
func (s *imageSource) load(j int, dst []float32, keep bool) error {
	s.mu.RLock()
	v, ok := s.cache[j]
	s.mu.RUnlock()
	if ok {
		copy(dst, v)
		return nil
	}
	if err := s.decode(s.paths[j], dst); err != nil {
		return err
	}
	if keep {
		s.mu.Lock()
		if n := int64(len(dst)) * 4; s.cacheLeft >= n {
			s.cache[j] = slices.Clone(dst)
			s.cacheLeft -= n
		}
		s.mu.Unlock()
	}
	return nil
}

// decode reads the image at path into dst, [h, w, c] float32 in 0..255.
func (s *imageSource) decode(path string, dst []float32) error {
	b, err := readImageFile(path)
	if err != nil {
		return err
	}
	img, err := decodeImage(b)
	if err != nil {
		return fmt.Errorf("dataset: image %s: %w", path, err)
	}
	resizeImage(img, s.c, s.h, s.w, dst)
	return nil
}

// readImageFile reads one image file, refusing one larger than
// maxImageFileBytes or the memory ceiling before reading it.
func readImageFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if st.Size() > maxImageFileBytes {
		return nil, fmt.Errorf("dataset: image %s: %d bytes, more than an image file may hold here (%d): %w", path, st.Size(), maxImageFileBytes, ErrFormat)
	}
	if err := limits.Check("dataset: image "+path, st.Size(), 1); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, st.Size()+1))
	if err != nil {
		return nil, fmt.Errorf("dataset: image %s: %w", path, err)
	}
	return b, nil
}

// maxImageSide bounds an image's declared width and height (PNG allows
// 2^31-1); the pixel count is then checked against the memory ceiling.
const maxImageSide = 1 << 16

// decodeImage decodes a PNG, JPEG, GIF or BMP image told by its content,
// checking the size its header declares before the decoder allocates.
func decodeImage(b []byte) (image.Image, error) {
	kind := sniffImage(b)
	if kind == "" {
		return nil, fmt.Errorf("not a PNG, JPEG, GIF or BMP image (magic % x): %w", b[:min(len(b), 4)], ErrFormat)
	}
	f := imageFormats[kind]
	cfg, err := f.config(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s header: %w: %w", kind, err, ErrFormat)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImageSide || cfg.Height > maxImageSide {
		return nil, fmt.Errorf("%s header declares %dx%d pixels (at most %d on a side): %w", kind, cfg.Width, cfg.Height, maxImageSide, ErrFormat)
	}
	// Decoders hold up to 8 bytes per pixel (16-bit RGBA); the float32
	// conversion 12 more.
	if err := limits.Check(fmt.Sprintf("%s image of %dx%d pixels", kind, cfg.Width, cfg.Height), int64(cfg.Width)*int64(cfg.Height), 20); err != nil {
		return nil, err
	}
	img, err := decodeSafely(f.decode, b)
	if err != nil {
		return nil, fmt.Errorf("%s data: %w: %w", kind, err, ErrFormat)
	}
	if r := img.Bounds(); r.Dx() != cfg.Width || r.Dy() != cfg.Height {
		return nil, fmt.Errorf("%s data is %dx%d pixels, its header says %dx%d: %w", kind, r.Dx(), r.Dy(), cfg.Width, cfg.Height, ErrFormat)
	}
	return img, nil
}

// decodeSafely runs a standard-library decoder, turning a panic on a
// malformed file into an error.
func decodeSafely(dec func(io.Reader) (image.Image, error), b []byte) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("decoder failed: %v", p)
		}
	}()
	return dec(bytes.NewReader(b))
}

// pixels converts img to float32 [H, W, c] values in 0..255 as Keras
// decodes images: RGB drops alpha (no blending) and replicates gray; gray
// takes a gray image as is and converts color with PIL's "L" formula
// (L = R*299/1000 + G*587/1000 + B*114/1000, rounded), what Keras's
// PIL-based loaders do.
func pixels(img image.Image, c int) (h, w int, out []float32) {
	r := img.Bounds()
	h, w = r.Dy(), r.Dx()
	out = make([]float32, h*w*c)
	i := 0
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for _, v := range row {
				for k := 0; k < c; k++ {
					out[i] = float32(v)
					i++
				}
			}
		}
		return h, w, out
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			var R, G, B uint8
			switch p := img.At(x, y).(type) {
			case color.Gray:
				R, G, B = p.Y, p.Y, p.Y
			case color.Gray16:
				v := uint8(p.Y >> 8)
				R, G, B = v, v, v
			default:
				n := color.NRGBAModel.Convert(p).(color.NRGBA)
				R, G, B = n.R, n.G, n.B
			}
			if c == 1 {
				out[i] = float32((uint32(R)*299 + uint32(G)*587 + uint32(B)*114 + 500) / 1000)
				i++
				continue
			}
			out[i], out[i+1], out[i+2] = float32(R), float32(G), float32(B)
			i += 3
		}
	}
	return h, w, out
}

// resizeImage writes img converted to c channels and resized to oh x ow
// into dst ([oh, ow, c]).
func resizeImage(img image.Image, c, oh, ow int, dst []float32) {
	h, w, px := pixels(img, c)
	ResizeBilinear(px, h, w, c, oh, ow, dst)
}

// ResizeBilinear resizes src ([h, w, c], channels last) to dst ([oh, ow,
// c]) as tf.image.resize(method="bilinear") does, which is what Keras's
// image_dataset_from_directory calls: half-pixel centres (in = (out+0.5) *
// in/out - 0.5), no antialiasing, neighbours clamped to the edge, float32
// arithmetic in TensorFlow's order (resize_bilinear_op.cc): top = tl +
// (tr-tl)*xl, bottom = bl + (br-bl)*xl, out = top + (bottom-top)*yl.
func ResizeBilinear(src []float32, h, w, c, oh, ow int, dst []float32) {
	if h == oh && w == ow {
		copy(dst, src[:h*w*c])
		return
	}
	type interp struct {
		lo, hi int
		lerp   float32
	}
	weights := func(out, in int) []interp {
		scale := float32(in) / float32(out)
		ws := make([]interp, out)
		for i := range ws {
			v := (float32(i)+0.5)*scale - 0.5
			f := float32(math.Floor(float64(v)))
			ws[i] = interp{max(int(f), 0), min(int(math.Ceil(float64(v))), in-1), v - f}
		}
		return ws
	}
	ys, xs := weights(oh, h), weights(ow, w)
	for y, wy := range ys {
		top, bot := src[wy.lo*w*c:], src[wy.hi*w*c:]
		for x, wx := range xs {
			o := (y*ow + x) * c
			for k := 0; k < c; k++ {
				tl, tr := top[wx.lo*c+k], top[wx.hi*c+k]
				bl, br := bot[wx.lo*c+k], bot[wx.hi*c+k]
				t := tl + (tr-tl)*wx.lerp
				b := bl + (br-bl)*wx.lerp
				dst[o+k] = t + (b-t)*wy.lerp
			}
		}
	}
}

// parallel runs fn(0..n-1) on GOMAXPROCS goroutines and returns the first
// error by index.
func parallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr(errs)
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// maxReportedBad is how many unreadable image names a skip report lists.
const maxReportedBad = 5

// LoadImages indexes the image folder dir as Keras's
// image_dataset_from_directory does and returns its examples as streamed
// sets: every image is decoded once here (bad ones are skipped, or refused
// with o.Strict), and again batch by batch unless it fits in the cache.
// With split > 0 the files are shuffled with seed and split as Keras does
// (see splitImages) before bad files are dropped, so each good file lands
// in the subset Keras would put it in; valid is nil without a split.
// warn receives the report of skipped files. Labels are class indices,
// ClassNames the sub-folder names.
func LoadImages(dir string, o ImageOptions, split float64, seed uint32, warn func(string)) (train, valid *Set, err error) {
	h, w := o.size()
	c := o.channels()
	if h <= 0 || w <= 0 || h > maxImageSide || w > maxImageSide {
		return nil, nil, fmt.Errorf("%w: images:%s: image size %dx%d (want 1..%d on a side)", ErrSpec, dir, h, w, maxImageSide)
	}
	if split < 0 || split >= 1 || math.IsNaN(split) {
		return nil, nil, fmt.Errorf("%w: images:%s: validation split %v (want a fraction in [0, 1))", ErrSpec, dir, split)
	}
	if err := limits.Check(fmt.Sprintf("dataset: images:%s: one %dx%dx%d image", dir, h, w, c), int64(h)*int64(w)*int64(c), 4*64); err != nil {
		return nil, nil, err
	}
	classes, paths, labels, err := indexImages(dir)
	if err != nil {
		return nil, nil, err
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("dataset: images:%s: no images (%s) in the %d class folders %s: %w", dir, strings.Join(imageExts, ", "), len(classes), strings.Join(classes, ", "), ErrFormat)
	}
	budget := o.CacheBytes
	if budget == 0 {
		budget = 256 << 20
	}
	src := &imageSource{paths: paths, h: h, w: w, c: c, grayscale: o.Grayscale, cache: map[int][]float32{}, cacheLeft: max(budget, 0)}
	// Decode every image once: find the bad ones before training and the
	// value range, and fill the cache.
	bad := make([]error, len(paths))
	los, his := make([]float32, len(paths)), make([]float32, len(paths))
	var pool sync.Pool
	parallel(len(paths), func(i int) error {
		buf, _ := pool.Get().([]float32)
		if buf == nil {
			buf = make([]float32, src.rowSize())
		}
		defer pool.Put(buf)
		if err := src.load(i, buf, true); err != nil {
			bad[i] = err
			return nil
		}
		lo, hi := buf[0], buf[0]
		for _, v := range buf {
			lo, hi = min(lo, v), max(hi, v)
		}
		los[i], his[i] = lo, hi
		return nil
	})
	var badNames []string
	nbad := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, e := range bad {
		if e == nil {
			lo, hi = min(lo, float64(los[i])), max(hi, float64(his[i]))
			continue
		}
		if o.Strict {
			return nil, nil, fmt.Errorf("%w (--strict refuses a folder with an unreadable image; without it such files are skipped)", e)
		}
		nbad++
		if len(badNames) < maxReportedBad {
			badNames = append(badNames, paths[i])
		}
	}
	if nbad == len(paths) {
		return nil, nil, fmt.Errorf("dataset: images:%s: none of the %d image files decodes; the first: %w", dir, len(paths), firstErr(bad))
	}
	if nbad > 0 && warn != nil {
		more := ""
		if nbad > len(badNames) {
			more = fmt.Sprintf(" and %d more", nbad-len(badNames))
		}
		warn(fmt.Sprintf("images:%s: skipped %d of %d files that are not readable images: %s%s (--strict refuses them)", dir, nbad, len(paths), strings.Join(badNames, ", "), more))
	}
	y := make([]float32, len(paths))
	for i, l := range labels {
		y[i] = float32(l)
	}
	all := &Set{Y: y, Classes: len(classes), ClassNames: classes, Name: "images:" + dir,
		shape: []int{h, w, c}, n: len(paths), src: src, lo: lo, hi: hi}
	trIdx, vaIdx := splitIndices(len(paths), split, seed)
	good := func(idx []int) []int {
		return slices.DeleteFunc(idx, func(i int) bool { return bad[i] != nil })
	}
	train = all.Subset(all.Name, good(trIdx))
	if split > 0 {
		train.Name = all.Name + ":training"
		valid = all.Subset(all.Name+":validation", good(vaIdx))
		if valid.Len() == 0 || train.Len() == 0 {
			return nil, nil, fmt.Errorf("%w: images:%s: a validation split of %v leaves %d training and %d validation images", ErrSpec, dir, split, train.Len(), valid.Len())
		}
	}
	return train, valid, nil
}

// splitIndices returns the training and validation indices of n files as
// Keras's image_dataset_from_directory picks them with validation_split
// and seed: index_directory shuffles the file list with NumPy's
// RandomState(seed) (numpyShuffle), then get_training_or_validation_split
// keeps the last int(split * n) for validation. Without a split the order
// is the shuffled one too (Keras's shuffle=True default); epochs reshuffle.
func splitIndices(n int, split float64, seed uint32) (train, valid []int) {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	numpyShuffle(seed, n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	nval := int(split * float64(n))
	return idx[:n-nval], idx[n-nval:]
}
