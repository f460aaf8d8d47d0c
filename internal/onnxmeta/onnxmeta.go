// Package onnxmeta defines what xfer stores in an ONNX model's
// metadata_props so that .onnx -> xfer -> .onnx keeps what ONNX itself has no
// field for: layer grouping, trainable flags, param roles, Keras configs and
// the operation history. The exporter (exporters/onnx) writes these keys and
// the importer (importers/onnx) reads them back; other tools ignore them.
//
// Every key starts with "xfer."; every value is JSON except Source.
package onnxmeta

import (
	"encoding/json"

	"github.com/xferml/xfer/model"
)

// Keys of metadata_props written by xfer.
const (
	KeyTrainable  = "xfer.trainable"  // JSON object: layer name -> bool
	KeyLayers     = "xfer.layers"     // JSON array of Layer
	KeyHistory    = "xfer.history"    // JSON array of model.Event
	KeySource     = "xfer.source"     // plain text: the file the model was first read from
	KeyMeta       = "xfer.meta"       // JSON object: model.Meta
	KeySequential = "xfer.sequential" // "true" for a Keras Sequential model
	KeySubmodels  = "xfer.submodels"  // JSON array of Submodel: nested Keras models
)

// Layer describes one model.Layer in terms of the ONNX graph: its nodes by
// (unique) node name and its params by initializer name.
type Layer struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Trainable bool            `json:"trainable"`
	Inputs    []string        `json:"inputs,omitempty"`
	Outputs   []string        `json:"outputs,omitempty"`
	Nodes     []string        `json:"nodes,omitempty"`
	Params    []Param         `json:"params,omitempty"`
	Consts    []string        `json:"consts,omitempty"`
	Config    json.RawMessage `json:"config,omitempty"`
	Scope     string          `json:"scope,omitempty"`  // model.Layer.Scope
	Shares    string          `json:"shares,omitempty"` // model.Layer.Shares
}

// Submodel describes one model.Submodel (a nested Keras model).
type Submodel struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Trainable bool            `json:"trainable"`
	Training  *bool           `json:"training,omitempty"`
	Inputs    []string        `json:"inputs"`
	Outputs   []string        `json:"outputs"`
	Config    json.RawMessage `json:"config,omitempty"`
}

// Param describes one model.Param stored as the initializer called Name.
type Param struct {
	Name  string             `json:"name"`
	Role  string             `json:"role,omitempty"`
	State bool               `json:"state,omitempty"`
	Init  *model.Initializer `json:"init,omitempty"`
}
