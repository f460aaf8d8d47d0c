// Command xfer moves trained neural networks between Keras (.h5, .keras) and
// ONNX and does transfer learning on them.
//
// Workspace mode, like git: `xfer import FILE` creates ./.xfer holding the
// current model and a journal; later commands change that model in place,
// `xfer log` lists the journal and `xfer undo` steps back exactly:
//
//	xfer import model_A.h5
//	xfer drop-head
//	xfer add-head --units 1 --activation sigmoid
//	xfer freeze --upto 5
//	xfer finetune --data fashion-mnist:B --epochs 20 --unfreeze-after 4
//	xfer export model_B_on_A.onnx
//
// File mode, for scripts: -m FILE reads a model, -o FILE writes the result
// (format by extension), no workspace involved:
//
//	xfer freeze --upto 5 -m in.h5 -o out.h5
//	xfer export -m in.h5 -o out.onnx
//
// Results go to stdout (a table, or JSON with --json), diagnostics to
// stderr. Exit status: 0 success, 1 runtime error, 2 usage error. The
// command reference is docs/CLI.md, generated from the commands' own help;
// each command is one file here with an options struct and a runXxx
// function.
package main

import "os"

func main() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) }
