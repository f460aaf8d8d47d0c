// Command xfer moves trained neural networks between Keras and ONNX and does
// transfer learning on them. See ../../README.md and xfer --help.
package main

import "os"

func main() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) }
