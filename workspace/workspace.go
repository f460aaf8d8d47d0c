package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/xferml/xfer/internal/atomicfile"
	"github.com/xferml/xfer/internal/native"
	"github.com/xferml/xfer/model"
)

// DirName is the workspace directory, relative to the working directory.
const DirName = ".xfer"

// Sentinel errors, for errors.Is.
var (
	// ErrNoWorkspace reports a directory without a workspace.
	ErrNoWorkspace = errors.New("no workspace: run `xfer import FILE` first")
	// ErrNothingToUndo reports an undo with a single journal entry left.
	ErrNothingToUndo = errors.New("workspace: nothing to undo (the journal holds only the first import)")
	// ErrCorrupt reports a journal or snapshot that does not match.
	ErrCorrupt = errors.New("workspace: corrupt")
	// ErrConcurrent reports a journal changed by another xfer process since
	// this one opened the workspace.
	ErrConcurrent = errors.New("workspace: changed by another xfer command meanwhile; run the command again")
)

// maxJournal bounds the journal file read into memory (64 MiB: about half a
// million entries).
const maxJournal = 64 << 20

// Entry is one journal line.
type Entry struct {
	Seq      int    `json:"seq"`
	Op       string `json:"op"`
	Args     string `json:"args,omitempty"`
	Time     string `json:"time"`
	Before   string `json:"before,omitempty"`
	After    string `json:"after"`
	Snapshot string `json:"snapshot"` // file name under snapshots/
}

// store is the workspace's objects directory as a native.Store: each
// param's data in a file named by its content key.
type store struct{ dir string }

func (s store) path(key string) string { return filepath.Join(s.dir, key) }

func (s store) Put(key string, data []float32) error {
	if !native.IsKey(key) {
		return fmt.Errorf("workspace: object key %q", key)
	}
	if st, err := os.Stat(s.path(key)); err == nil && st.Mode().IsRegular() && st.Size() == 4*int64(len(data)) {
		return nil // the same content, kept by an earlier step
	}
	return native.WriteObject(s.path(key), data)
}

func (s store) Get(key string, n int) ([]float32, error) {
	if !native.IsKey(key) {
		return nil, fmt.Errorf("%w: object key %q", ErrCorrupt, key)
	}
	v, err := native.ReadObject(s.path(key), n)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: object %s is missing from %s", ErrCorrupt, key, s.dir)
	}
	return v, err
}

// Workspace is an open ./.xfer directory.
type Workspace struct {
	dir     string // path of the .xfer directory
	journal []Entry
}

func (w *Workspace) objects() store { return store{filepath.Join(w.dir, "objects")} }

// Path returns the workspace directory under root.
func Path(root string) string { return filepath.Join(root, DirName) }

// Exists reports whether root holds a workspace.
func Exists(root string) bool {
	_, err := os.Stat(filepath.Join(Path(root), "journal.json"))
	return err == nil
}

// Find returns the directory that holds the workspace of start, the way git
// finds .git: start itself, else its nearest parent that holds one, looked
// for up to the filesystem root or, when ceiling is not "", below ceiling
// only. It returns start when none does (Open then reports
// ErrNoWorkspace, OpenOrCreate creates the workspace there).
func Find(start, ceiling string) string {
	if start == "" {
		start = "."
	}
	dir, err := filepath.Abs(start)
	if err != nil {
		return start
	}
	if ceiling != "" {
		if ceiling, err = filepath.Abs(ceiling); err != nil {
			return start
		}
	}
	if Exists(dir) {
		return start // as given: messages name its files as the user does
	}
	for {
		if Exists(dir) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir || parent == ceiling || ceiling != "" && !strings.HasPrefix(parent, ceiling+string(filepath.Separator)) {
			return start
		}
		dir = parent
	}
}

// Open opens the workspace under root, or returns an error wrapping
// ErrNoWorkspace.
func Open(root string) (*Workspace, error) {
	dir := Path(root)
	jpath := filepath.Join(dir, "journal.json")
	st, err := os.Stat(jpath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoWorkspace
	}
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	if st.Size() > maxJournal {
		return nil, fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrCorrupt, jpath, st.Size(), maxJournal)
	}
	j, err := readJournal(jpath)
	if err != nil {
		return nil, err
	}
	if len(j) == 0 {
		return nil, fmt.Errorf("%w: %s is empty; remove %s and import again", ErrCorrupt, jpath, dir)
	}
	return &Workspace{dir: dir, journal: j}, nil
}

func readJournal(jpath string) ([]Entry, error) {
	b, err := os.ReadFile(jpath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	var j []Entry
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, jpath, err)
	}
	for _, e := range j {
		if e.Snapshot != filepath.Base(e.Snapshot) || e.Snapshot == "" || e.Snapshot == "." || e.Snapshot == ".." {
			return nil, fmt.Errorf("%w: %s: entry %d names snapshot %q outside the workspace", ErrCorrupt, jpath, e.Seq, e.Snapshot)
		}
	}
	return j, nil
}

// lock takes an exclusive advisory lock on the workspace (flock(2) on
// .xfer/lock, released by the kernel if the process dies) and checks that
// the journal on disk is still the one w read.
func (w *Workspace) lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(w.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("workspace: lock %s: %w", f.Name(), err)
	}
	unlock = func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
	disk, err := readJournal(filepath.Join(w.dir, "journal.json"))
	if err != nil {
		unlock()
		return nil, err
	}
	if !slices.Equal(disk, w.journal) {
		unlock()
		return nil, ErrConcurrent
	}
	w.removeStale()
	return unlock, nil
}

// removeStale removes what commands killed mid-write left in the workspace:
// temporary files of interrupted atomic writes, and snapshots the journal
// does not name (one written before the journal update that would have named
// it, or one an undo dropped from the journal but did not get to remove).
// The caller holds the lock, and every write to the workspace happens under
// it, so none of these belongs to a running command. Failures are ignored:
// what is left is removed next time.
func (w *Workspace) removeStale() {
	named := map[string]bool{}
	for _, e := range w.journal {
		named[e.Snapshot] = true
	}
	snaps := filepath.Join(w.dir, "snapshots")
	w.removeObjects()
	for _, dir := range []string{w.dir, snaps} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			stale := atomicfile.IsTemp(name) || dir == snaps && isSnapshotName(name) && !named[name]
			if stale && e.Type().IsRegular() {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}
}

// removeObjects removes the objects no journal entry's snapshot refers to
// (those of an undone step, or written by a command killed before its
// journal update) and temporaries in objects/. Nothing is removed when a
// snapshot's header cannot be read: what it refers to is unknown. The
// caller holds the lock.
func (w *Workspace) removeObjects() {
	dir := w.objects().dir
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	used := map[string]bool{}
	for _, e := range w.journal {
		keys, err := native.StoredKeys(filepath.Join(w.dir, "snapshots", e.Snapshot))
		if err != nil {
			return
		}
		for _, k := range keys {
			used[k] = true
		}
	}
	for _, e := range entries {
		name := e.Name()
		if (atomicfile.IsTemp(name) || native.IsKey(name) && !used[name]) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

// isSnapshotName reports whether name is one Commit gives a snapshot:
// decimal digits, then ".snap" (or ".xnat", the self-contained snapshots of
// workspaces made before params were stored by content).
func isSnapshotName(name string) bool {
	digits, ok := strings.CutSuffix(name, ".snap")
	if !ok {
		digits, ok = strings.CutSuffix(name, ".xnat")
	}
	if !ok || len(digits) == 0 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// OpenOrCreate opens the workspace under root, creating an empty one when
// there is none. The first Commit of a new workspace is its import.
func OpenOrCreate(root string) (*Workspace, error) {
	w, err := Open(root)
	if errors.Is(err, ErrNoWorkspace) {
		dir := Path(root)
		for _, sub := range []string{"snapshots", "objects"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
				return nil, fmt.Errorf("workspace: %w", err)
			}
		}
		return &Workspace{dir: dir}, nil
	}
	return w, err
}

// Dir returns the path of the .xfer directory.
func (w *Workspace) Dir() string { return w.dir }

// Journal returns a copy of the journal, oldest first.
func (w *Workspace) Journal() []Entry { return append([]Entry(nil), w.journal...) }

// Current decodes the current model and checks it against the journal's
// digest.
func (w *Workspace) Current() (*model.Model, error) {
	if len(w.journal) == 0 {
		return nil, ErrNoWorkspace
	}
	return w.load(w.journal[len(w.journal)-1])
}

func (w *Workspace) load(e Entry) (*model.Model, error) {
	path := filepath.Join(w.dir, "snapshots", e.Snapshot)
	m, err := native.ReadStoredFile(path, w.objects())
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !errors.Is(err, native.ErrFormat) {
			return nil, fmt.Errorf("workspace: %w", err)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	// A journal written before digests hashed keys records the legacy
	// digest of the same model.
	if d := native.Digest(m); d != e.After && native.LegacyDigest(m) != e.After {
		return nil, fmt.Errorf("%w: %s has digest %s, the journal says %s", ErrCorrupt, path, d, e.After)
	}
	return m, nil
}

// Commit records m as the new current model, the result of operation op with
// arguments args. It returns the journal entry. m is not modified.
func (w *Workspace) Commit(m *model.Model, op, args string, at time.Time) (Entry, error) {
	return w.CommitHashed(m, native.Hashed{}, op, args, at)
}

// CommitHashed is Commit for a caller that has hashed m already
// (native.DigestHashed, params unchanged since): the model's params are not
// hashed again.
func (w *Workspace) CommitHashed(m *model.Model, h native.Hashed, op, args string, at time.Time) (Entry, error) {
	return w.commit(m, h, op, args, at, false)
}

// CommitRecorded is Commit that also records the step in the stored
// model's History: an event with op, args, at, the digest of the model it
// replaces (Before) and m's (After), hashed once for both uses. m is not
// modified.
func (w *Workspace) CommitRecorded(m *model.Model, op, args string, at time.Time) (Entry, error) {
	return w.commit(m, native.Hashed{}, op, args, at, true)
}

func (w *Workspace) commit(m *model.Model, h native.Hashed, op, args string, at time.Time, record bool) (Entry, error) {
	for _, sub := range []string{"snapshots", "objects"} {
		if err := os.MkdirAll(filepath.Join(w.dir, sub), 0o755); err != nil {
			return Entry{}, fmt.Errorf("workspace: %w", err)
		}
	}
	unlock, err := w.lock()
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	seq := 1
	before := ""
	if n := len(w.journal); n > 0 {
		seq = w.journal[n-1].Seq + 1
		before = w.journal[n-1].After
	}
	e := Entry{
		Seq: seq, Op: op, Args: args, Time: at.UTC().Format(time.RFC3339),
		Before: before, Snapshot: fmt.Sprintf("%06d.snap", seq),
	}
	// The params go to objects/ by content, where those an earlier step
	// kept already are; the snapshot refers to them by key.
	var edit func(string) *model.Model
	if record {
		edit = func(d string) *model.Model {
			c := *m // shallow: the stored copy gains one History event
			c.History = append(slices.Clip(m.History), model.Event{Op: op, Args: args, Time: e.Time, Before: before, After: d})
			return &c
		}
	}
	if e.After, err = native.WriteStoredFileWith(filepath.Join(w.dir, "snapshots", e.Snapshot), m, w.objects(), h, edit); err != nil {
		w.removeObjects() // those written before the failure: the workspace stays as it was
		return Entry{}, fmt.Errorf("workspace: %w", err)
	}
	if err := w.writeJournal(append(w.Journal(), e)); err != nil {
		os.Remove(filepath.Join(w.dir, "snapshots", e.Snapshot))
		w.removeObjects()
		return Entry{}, err
	}
	w.journal = append(w.journal, e)
	return e, nil
}

// Undo drops the last operation and returns its entry; the model of the
// entry before becomes current again, byte for byte.
func (w *Workspace) Undo() (Entry, error) {
	n := len(w.journal)
	if n < 2 {
		return Entry{}, ErrNothingToUndo
	}
	unlock, err := w.lock()
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	last := w.journal[n-1]
	if _, err := w.load(w.journal[n-2]); err != nil {
		return Entry{}, fmt.Errorf("workspace: cannot undo %s: previous state unreadable: %w", last.Op, err)
	}
	if err := w.writeJournal(w.journal[:n-1]); err != nil {
		return Entry{}, err
	}
	w.journal = w.journal[:n-1]
	if err := os.Remove(filepath.Join(w.dir, "snapshots", last.Snapshot)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return last, fmt.Errorf("workspace: undo done, but removing %s: %w", last.Snapshot, err)
	}
	w.removeObjects() // the params only the undone step had
	return last, nil
}

func (w *Workspace) writeJournal(j []Entry) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(w.dir, "journal.json"), append(b, '\n')); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	return nil
}
