package dataset

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/xferml/xfer/internal/limits"
	"github.com/xferml/xfer/model"
)

// maxCSVColumns bounds the header of a CSV file.
const maxCSVColumns = 1 << 16

// LoadCSV reads a CSV file with a header row: the column named label holds
// the labels, every other column a numeric feature (encoding/csv's RFC 4180
// dialect). Numeric labels that are all non-negative integers are class
// indices (Classes = largest + 1, at least 2), other numeric labels are
// regression targets; non-numeric labels are categories, mapped to indices
// in sorted order and listed in ClassNames (as sklearn's LabelEncoder).
func LoadCSV(path, label string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	// A value takes at least 2 bytes ("0,"), becomes 4 bytes of float32:
	// the set is at most twice the file.
	if err := limits.Check("dataset: csv "+path, st.Size(), 3); err != nil {
		return nil, err
	}
	s, err := DecodeCSV(bufio.NewReader(f), label)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", path, err)
	}
	s.Name = "csv:" + path
	return s, nil
}

// DecodeCSV is LoadCSV on CSV text read from r.
func DecodeCSV(r io.Reader, label string) (*Set, error) {
	if label == "" {
		return nil, fmt.Errorf("%w: csv needs --label COLUMN naming the label column", ErrSpec)
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("csv: the file is empty; want a header row and data rows: %w", ErrFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("csv: header: %w: %w", err, ErrFormat)
	}
	if len(head) > maxCSVColumns {
		return nil, fmt.Errorf("csv: %d columns (at most %d): %w", len(head), maxCSVColumns, ErrFormat)
	}
	head = slices.Clone(head)
	li := slices.Index(head, label)
	if li < 0 {
		// A header cell may carry spaces or a byte-order mark.
		for i, h := range head {
			if strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) == label {
				li = i
			}
		}
	}
	if li < 0 {
		return nil, fmt.Errorf("%w: csv: no column %q for --label; the header has %s", ErrSpec, label, clipText(strings.Join(head, ", "), 200))
	}
	if len(head) < 2 {
		return nil, fmt.Errorf("csv: only the label column %q; want feature columns too: %w", label, ErrFormat)
	}
	var x []float32
	var raw []string // labels as written
	line := 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, fmt.Errorf("csv: line %d has %d fields but the header has %d (ragged rows): %w", pe.Line, len(rec), len(head), ErrFormat)
			}
			return nil, fmt.Errorf("csv: %w: %w", err, ErrFormat)
		}
		for i, v := range rec {
			if i == li {
				raw = append(raw, strings.TrimSpace(v))
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 32)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("csv: line %d column %q: %q is not a finite number (features must be numeric; encode or drop this column): %w", line, head[i], clipText(v, 40), ErrFormat)
			}
			x = append(x, float32(f))
		}
	}
	n := len(raw)
	if n == 0 {
		return nil, fmt.Errorf("csv: a header but no data rows: %w", ErrFormat)
	}
	y := make([]float32, n)
	classes := 2
	var names []string
	numeric := true
	for i, v := range raw {
		f, err := strconv.ParseFloat(v, 32)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			numeric = false
			break
		}
		y[i] = float32(f)
		if f < 0 || f != math.Trunc(f) || f >= maxLabelClasses {
			classes = 0
		} else if classes != 0 {
			classes = max(classes, int(f)+1)
		}
	}
	if !numeric {
		seen := map[string]bool{}
		for _, v := range raw {
			if v == "" {
				return nil, fmt.Errorf("csv: column %q has an empty label: %w", label, ErrFormat)
			}
			if !seen[v] {
				seen[v] = true
				names = append(names, v)
			}
		}
		if len(names) > maxLabelClasses {
			return nil, fmt.Errorf("csv: column %q has %d distinct labels (at most %d classes): %w", label, len(names), maxLabelClasses, ErrFormat)
		}
		slices.Sort(names)
		index := map[string]int{}
		for i, v := range names {
			index[v] = i
		}
		for i, v := range raw {
			y[i] = float32(index[v])
		}
		classes = max(len(names), 2)
	}
	feat := len(head) - 1
	s, err := NewSet("csv", &model.Tensor{DType: model.Float32, Shape: []int{n, feat}, F32: x}, y, classes)
	if err != nil {
		return nil, err
	}
	s.ClassNames = names
	return s, nil
}

// clipText cuts s after n bytes, saying how long it was.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:n], len(s))
}
