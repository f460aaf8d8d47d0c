package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// newCompletionCmd is `xfer completion bash|zsh|fish`: a script that
// completes xfer's commands and each command's flags, written from the
// commands themselves so that it cannot fall behind them.
func newCompletionCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "completion",
		Usage: "print a shell completion script for bash, zsh or fish",
		Description: "bash: eval \"$(xfer completion bash)\" (in ~/.bashrc); zsh: xfer completion zsh > a file _xfer in a directory on $fpath; " +
			"fish: xfer completion fish > ~/.config/fish/completions/xfer.fish.",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("completion: name the shell: bash, zsh or fish")
			}
			if c.NArg() > 1 {
				return usagef("completion: name one shell (bash, zsh or fish), not %d", c.NArg())
			}
			cmds := visibleCommands(c.App)
			switch shell := c.Args().First(); shell {
			case "bash":
				writeBash(e.stdout, cmds)
			case "zsh":
				writeZsh(e.stdout, cmds)
			case "fish":
				writeFish(e.stdout, cmds)
			default:
				if s := nearest(shell, []string{"bash", "zsh", "fish"}); s != "" {
					return usagef("completion: unknown shell %q (did you mean %s?)", shell, s)
				}
				return usagef("completion: unknown shell %q (want bash, zsh or fish)", shell)
			}
			return nil
		},
	}
}

func visibleCommands(app *cli.App) []*cli.Command {
	var out []*cli.Command
	for _, c := range app.Commands {
		if !c.Hidden {
			out = append(out, c)
		}
	}
	return out
}

// flagWords returns a command's flags as typed (--model, -m), with
// --help.
func flagWords(c *cli.Command) []string {
	var out []string
	for _, f := range c.Flags {
		for _, n := range f.Names() {
			out = append(out, dashed(n))
		}
	}
	return append(out, "--help")
}

// takesValue reports whether flag f is followed by a value.
func takesValue(f cli.Flag) bool {
	df, ok := f.(cli.DocGenerationFlag)
	return ok && df.TakesValue()
}

func writeBash(w io.Writer, cmds []*cli.Command) {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	fmt.Fprintf(w, `# bash completion for xfer: eval "$(xfer completion bash)"
_xfer() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} opts="" values=""
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W %q -- "$cur"))
		return
	fi
	case "${COMP_WORDS[1]}" in
`, strings.Join(names, " "))
	for _, c := range cmds {
		var vals []string
		for _, f := range c.Flags {
			if takesValue(f) {
				for _, n := range f.Names() {
					vals = append(vals, dashed(n))
				}
			}
		}
		fmt.Fprintf(w, "\t%s) opts=%q; values=%q ;;\n", c.Name, strings.Join(flagWords(c), " "), " "+strings.Join(vals, " ")+" ")
	}
	io.WriteString(w, `	esac
	if [[ "$cur" == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [ "${COMP_WORDS[1]}" = help ] && [ "$COMP_CWORD" -eq 2 ]; then
		COMPREPLY=($(compgen -W `+fmt.Sprintf("%q", strings.Join(names, " "))+` -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -o filenames -o bashdefault -F _xfer xfer
`)
}

// zshQuote escapes a description for a zsh _arguments or _describe spec.
func zshQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `'\''`, `[`, `\[`, `]`, `\]`, `:`, `\:`).Replace(s)
}

func writeZsh(w io.Writer, cmds []*cli.Command) {
	io.WriteString(w, "#compdef xfer\n# zsh completion for xfer: save as _xfer on $fpath, or source it\n_xfer() {\n\tlocal -a cmds\n\tcmds=(\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "\t\t'%s:%s'\n", c.Name, zshQuote(c.Usage))
	}
	io.WriteString(w, "\t)\n\tif (( CURRENT == 2 )); then\n\t\t_describe 'command' cmds\n\t\treturn\n\tfi\n\tcase $words[2] in\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "\t%s)\n\t\t_arguments", c.Name)
		for _, f := range c.Flags {
			usage := ""
			if df, ok := f.(cli.DocGenerationFlag); ok {
				_, usage = unquote(df.GetUsage())
			}
			for _, n := range f.Names() {
				spec := "'" + dashed(n) + "[" + zshQuote(usage) + "]"
				if takesValue(f) {
					spec += ":value:_files"
				}
				fmt.Fprintf(w, " \\\n\t\t\t%s'", spec)
			}
		}
		io.WriteString(w, " \\\n\t\t\t'*:file:_files' ;;\n")
	}
	io.WriteString(w, "\tesac\n}\nif [ \"$funcstack[1]\" = _xfer ]; then _xfer \"$@\"; else compdef _xfer xfer; fi\n")
}

// fishQuote quotes s for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func writeFish(w io.Writer, cmds []*cli.Command) {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	io.WriteString(w, "# fish completion for xfer: save as ~/.config/fish/completions/xfer.fish\n")
	fmt.Fprintf(w, "complete -c xfer -f -n 'not __fish_seen_subcommand_from %s'\n", strings.Join(names, " "))
	for _, c := range cmds {
		fmt.Fprintf(w, "complete -c xfer -f -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", strings.Join(names, " "), c.Name, fishQuote(c.Usage))
	}
	for _, c := range cmds {
		for _, f := range c.Flags {
			usage := ""
			if df, ok := f.(cli.DocGenerationFlag); ok {
				_, usage = unquote(df.GetUsage())
			}
			line := fmt.Sprintf("complete -c xfer -n '__fish_seen_subcommand_from %s'", c.Name)
			for _, n := range f.Names() {
				if len(n) == 1 {
					line += " -s " + n
				} else {
					line += " -l " + n
				}
			}
			if takesValue(f) {
				line += " -r -F"
			}
			fmt.Fprintf(w, "%s -d %s\n", line, fishQuote(usage))
		}
	}
	fmt.Fprintf(w, "complete -c xfer -f -n '__fish_seen_subcommand_from help' -a %s\n", fishQuote(strings.Join(names, " ")))
}
