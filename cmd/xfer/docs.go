package main

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/urfave/cli/v2"
)

// docsCommand is the hidden command that writes docs/CLI.md from the
// commands' own help: `go run ./cmd/xfer __gen-docs > docs/CLI.md`
// (go generate ./cmd/xfer runs it). TestCLIDocs fails when the file and
// the help differ.
const docsCommand = "__gen-docs"

//go:generate sh -c "go run . __gen-docs > ../../docs/CLI.md"

func newDocsCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:   docsCommand,
		Usage:  "write the command reference (docs/CLI.md) from the commands' own help",
		Hidden: true,
		Action: func(c *cli.Context) error { return writeDocs(e.stdout, c.App) },
	}
}

// writeDocs writes the Markdown command reference of app to w.
func writeDocs(w io.Writer, app *cli.App) error {
	var b strings.Builder
	b.WriteString("# The xfer command line\n\n")
	b.WriteString("<!-- Generated from the commands' own help by `go generate ./cmd/xfer` (`go run ./cmd/xfer " + docsCommand + " > docs/CLI.md`).\n")
	b.WriteString("     Edit the commands in cmd/xfer, not this file: TestCLIDocs fails when the two differ. -->\n\n")
	fmt.Fprintf(&b, "`xfer`: %s.\n\n## Conventions\n\n", app.Usage)
	for _, line := range strings.Split(app.Description, "\n") {
		fmt.Fprintf(&b, "- %s\n", line)
	}
	b.WriteString("\n## Commands\n\n| command | what it does |\n| --- | --- |\n")
	cmds := visibleCommands(app)
	for _, c := range cmds {
		fmt.Fprintf(&b, "| [`%s`](#xfer-%s) | %s |\n", c.Name, c.Name, cell(c.Usage))
	}
	b.WriteString("\nOptions of xfer itself:\n\n")
	flagTable(&b, app.Flags)
	for _, c := range cmds {
		usage := "xfer " + c.Name
		if len(c.Flags) > 0 {
			usage += " [options]"
		}
		if c.ArgsUsage != "" {
			usage += " " + c.ArgsUsage
		}
		fmt.Fprintf(&b, "\n## xfer %s\n\n    %s\n\n%s.\n", c.Name, usage, strings.TrimSuffix(upperFirst(c.Usage), "."))
		if c.Description != "" {
			fmt.Fprintf(&b, "\n%s\n", c.Description)
		}
		if len(c.Flags) > 0 {
			b.WriteString("\n")
			flagTable(&b, c.Flags)
		}
		for _, o := range jsonOutputs[c.Name] {
			fmt.Fprintf(&b, "\n`--json`%s prints (keys from the code, `?` where a key may be left out):\n\n    %s\n", o.with, jsonShape(reflect.TypeOf(o.value)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// flagTable writes flags as a Markdown table, each as its help shows it.
func flagTable(b *strings.Builder, flags []cli.Flag) {
	b.WriteString("| option | meaning |\n| --- | --- |\n")
	for _, f := range flags {
		names, usage, _ := strings.Cut(flagString(f), "\t")
		fmt.Fprintf(b, "| `%s` | %s |\n", names, cell(usage))
	}
}

// cell escapes s for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
