package keras

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/xferml/xfer/internal/hdf5"
)

// Probe makes libhdf5 read everything in the HDF5 content of the Keras file
// at path (the file itself, or a .keras archive's model.weights.h5) that
// ReadFile could read, through the same calls (hdf5.Probe), and returns the
// first damage found or nil. A .keras archive without a weights member is
// not probed further (ReadFile refuses it without libhdf5).
//
// libhdf5 1.10 can crash the process on some corrupted HDF5 object headers,
// and no Go code can recover from that. A program that reads untrusted files
// runs Probe in a child process and calls ReadFile only when the child
// survived: package formats does this (formats.ProbeInChild) for the xfer
// command. Called in-process, Probe is no protection.
func Probe(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("keras: %w", err)
	}
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	f.Close()
	if !bytes.HasPrefix(head[:n], []byte("PK\x03\x04")) {
		if err := hdf5.Probe(path); err != nil {
			return fmt.Errorf("keras: %s: %w", path, err)
		}
		return nil
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
	}
	defer zr.Close()
	// The last member of the name, as ReadFile's member map keeps it.
	var wf *zip.File
	for _, zf := range zr.File {
		if zf.Name == "model.weights.h5" {
			wf = zf
		}
	}
	if wf == nil {
		return nil
	}
	tmp, err := extractWeights(wf, path)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := hdf5.Probe(tmp); err != nil {
		return fmt.Errorf("keras: %s: model.weights.h5: %w", path, err)
	}
	return nil
}
