// Package workspace keeps xfer's interactive state in a ./.xfer directory,
// the way git keeps a repository in .git:
//
//	.xfer/journal.json       one entry per operation: command, arguments,
//	                         time, model digest before and after, snapshot
//	.xfer/snapshots/NNNNNN.xnat   the model after each operation, in the
//	                         lossless encoding of internal/native
//
// The current model is the snapshot of the last journal entry. Undo drops the
// last entry and its snapshot, so the model returns to the previous state
// exactly (same bytes, hence byte-identical exports). Import is an operation
// like any other: importing over a workspace can be undone too.
//
// Files are replaced atomically (internal/atomicfile): the snapshot is
// written before the journal that names it, and the journal is rewritten
// before a snapshot is removed, so an interrupted command leaves the last
// complete state. What such a command leaves (a temporary file, a snapshot
// no journal entry names) is removed by the next Commit or Undo, under the
// lock. Commit and Undo hold an flock(2) on .xfer/lock and refuse
// (ErrConcurrent) when another xfer command changed the journal since this
// one read it, so no step is ever silently lost.
package workspace
