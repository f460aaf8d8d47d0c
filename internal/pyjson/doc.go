// Package pyjson reads and writes JSON as Keras does: objects keep their key
// order (Python dicts keep insertion order), numbers stay as written, and
// Encode renders values as Python's json.dumps does by default (", " and ": "
// separators, non-ASCII escaped, floats in Python's repr). It is the one
// editor of Keras layer and model configs: the Keras importer, the Keras
// exporter and surgery all edit configs through it.
package pyjson
