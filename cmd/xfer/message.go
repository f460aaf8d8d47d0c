package main

import (
	"regexp"
	"strings"
)

// internalPrefixes are the package prefixes and sentinel texts that error
// messages carry from inside xfer: they say which package found the
// problem, which is the code's business, not the user's. userMessage drops
// them, and names the command instead ("freeze: layer 9 is out of
// range ..."). "unsupported" and "malformed ONNX" stay: they say what is
// wrong.
var internalPrefixes = []string{
	"formats: unknown model format: ", "formats: ",
	"surgery: bad argument: ", "surgery: ",
	"atomicfile: ",
	"tensorio: bad format: ", "tensorio: ",
	"dataset: bad spec: ", "dataset: bad format: ", "dataset: not a finite number: ", "dataset: ",
	"native: bad format: ", "native: ",
	"engine: bad input: ", "engine: ",
	"workspace: corrupt: ", "workspace: ",
	"keras: bad format: ", "keras: ",
	"hdf5: bad format: ", "hdf5: ",
	"onnx: ",
	"model: invalid: ", "model: shape mismatch: ", "model: ",
	"limits: ",
}

// reWriteTwice matches "write F: cannot write F:", a write error that two
// layers named.
var reWriteTwice = regexp.MustCompile(`write (\S+): cannot write (\S+):`)

// userMessage returns the line the user reads for an error of command cmd
// ("" for none) with message msg: without xfer's internal package
// prefixes, and starting with the command.
func userMessage(cmd, msg string) string {
	for _, p := range internalPrefixes {
		msg = dropToken(msg, p)
	}
	msg = reWriteTwice.ReplaceAllStringFunc(msg, func(s string) string {
		m := reWriteTwice.FindStringSubmatch(s)
		if m[1] != m[2] {
			return s
		}
		return "cannot write " + m[1] + ":"
	})
	if cmd != "finetune" {
		// finetune's own prefix under evaluate, predict or demo.
		msg = strings.TrimPrefix(msg, "finetune: ")
	}
	if cmd != "" {
		// The command named again inside ("unsupported: add-head: ..."):
		// once, at the start, is enough.
		msg = dropToken(msg, cmd+": ")
	}
	if cmd != "" && !strings.HasPrefix(msg, cmd+":") && !strings.HasPrefix(msg, cmd+" ") {
		msg = cmd + ": " + msg
	}
	return msg
}

// dropToken removes each occurrence of token that starts msg or follows
// ": " or "(".
func dropToken(msg, token string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		if strings.HasPrefix(msg[i:], token) && (i == 0 || strings.HasSuffix(msg[:i], ": ") || msg[i-1] == '(') {
			i += len(token)
			continue
		}
		b.WriteByte(msg[i])
		i++
	}
	return b.String()
}
