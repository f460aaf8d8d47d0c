// Package conformance runs ONNX's own node tests (Debian's libonnx-testdata:
// data/node/test_*/model.onnx with test_data_set_*/input_*.pb and
// output_*.pb) through xfer's ONNX importer and engine.
//
// RunCase imports a test's model with importers/onnx, plans it with
// engine.New, runs every data set and compares each output with ONNX's
// reference the way ONNX's backend test runner does: output count, then
// shape, then element type, then values with
// |got - want| <= 1e-7 + 1e-3*|want| (NaN matches NaN).
//
// The test of this package selects the node tests of the operators issue 3
// lists (Selected), runs them, and fails when the set that passed differs
// from testdata/node_tests_expected.txt; every selected test not expected to
// pass is in testdata/node_tests_skipped.txt with a written reason. It prints
// one line: "onnx node tests: P passed, F failed, S skipped".
package conformance
