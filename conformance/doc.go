// Package conformance runs ONNX's own test models (Debian's
// libonnx-testdata: data/{node,pytorch-converted,pytorch-operator,simple}/
// test_*/model.onnx with test_data_set_*/input_*.pb and output_*.pb)
// through xfer the way `xfer predict` does: importers/onnx, engine.New,
// tensorio for the .pb files and tensorio.As to the inputs' dtypes.
//
// RunCase runs one test and compares each output with ONNX's reference the
// way ONNX's backend test runner does: output count, then shape, then
// element type, then values with |got - want| <= 1e-7 + 1e-3*|want| (NaN
// matches NaN; integers and bool exactly). A failure is a refusal (an error
// at import, planning, reading the data or running), a wrong answer
// (StageCompare) or a crash (a panic, or an engine internal error).
//
// The test of this package runs all 1,072 tests and fails when the set that
// passes differs from testdata/expected.txt, when any test gives a wrong
// answer or crashes, and when a refused test has no written reason in
// testdata/skipped.txt. It prints one line: "onnx tests (libonnx-testdata):
// P of N pass, W wrong, C crashed, R refused". Selected lists the node tests
// of the operators issue 3 requires; the exporter's tests re-export those.
package conformance
