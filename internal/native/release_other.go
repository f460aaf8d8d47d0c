//go:build !linux

package native

// canDropPages is false where memory goes back only through the garbage
// collector (debug.FreeOSMemory).
const canDropPages = false

func dropPages(b []byte) {}
