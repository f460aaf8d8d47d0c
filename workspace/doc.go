// Package workspace keeps xfer's interactive state in a ./.xfer directory,
// the way git keeps a repository in .git:
//
//	.xfer/journal.json       one entry per operation: command, arguments,
//	                         time, model digest before and after, snapshot
//	.xfer/snapshots/NNNNNN.snap   the model after each operation, in the
//	                         lossless encoding of internal/native, each
//	                         param referred to by the sha256 of its data
//	.xfer/objects/KEY        one param's data (little-endian float32),
//	                         named by that sha256
//
// Params are stored by content: a step that changes only the head (drop-head,
// add-head, fine-tuning a frozen base) adds only the head's params, and one
// that changes only flags (freeze) adds none; every snapshot shares the rest.
// The current model is the snapshot of the last journal entry. Undo drops the
// last entry and its snapshot, and the objects no other snapshot refers to,
// so the model returns to the previous state exactly (same bytes, hence
// byte-identical exports); a snapshot's model must have the digest its
// journal entry records, or it is refused as corrupt. Import is an operation
// like any other: importing over a workspace can be undone too. Workspaces
// made before params were stored by content hold self-contained
// NNNNNN.xnat snapshots; they are read as they are, and their next steps
// are stored by content.
//
// Files are replaced atomically (internal/atomicfile): the snapshot is
// written before the journal that names it, and the journal is rewritten
// before a snapshot is removed, so an interrupted command leaves the last
// complete state (objects are written before the snapshot that refers to
// them). What such a command leaves (a temporary file, a snapshot no
// journal entry names, objects no snapshot refers to) is removed by the
// next Commit or Undo, under the lock. Commit and Undo hold an flock(2) on .xfer/lock and refuse
// (ErrConcurrent) when another xfer command changed the journal since this
// one read it, so no step is ever silently lost.
package workspace
