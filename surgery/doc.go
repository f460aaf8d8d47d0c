// Package surgery edits models for transfer learning: drop the task head,
// add a new Dense head, freeze and unfreeze layers, clone with fresh
// weights, and fold BatchNormalization layers into the layer before them.
//
// Every function is pure: it returns a new model that shares no memory with
// its input, and the input is never modified (the functions start from
// model.Clone). Layer indexes are positions in Model.Layers, which follow
// Keras's model.layers numbering (a Functional model's InputLayer counts, a
// Sequential model's implicit input does not). The functions record nothing
// in Model.History; callers journal the operation. History and Meta are
// copied unchanged.
//
// Errors wrap ErrUsage when the arguments do not fit the model (an index out
// of range, a head larger than the model, a missing output name: command
// line usage errors) and model.ErrUnsupported when the model's structure prevents
// the operation (add-head on a model with several outputs).
package surgery
