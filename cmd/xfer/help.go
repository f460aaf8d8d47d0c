package main

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// The command line's own help: flags shown with their default once and
// right and their requirement, missing and unknown flags and commands as
// one line that says what to type instead.

func init() { cli.FlagStringer = flagString }

// flagString is the help line of a flag: its names and placeholder, a tab,
// its usage, and "(default: X)" when it has a default its usage does not
// already give (zero values, false and "" are no default worth showing).
// Required flags say so (setUpFlags appends it to their usage).
func flagString(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return ""
	}
	placeholder, usage := unquote(df.GetUsage())
	if df.TakesValue() && placeholder == "" {
		placeholder = placeholderOf(f)
	}
	var names []string
	for _, n := range df.Names() {
		p := "--" + n
		if len(n) == 1 {
			p = "-" + n
		}
		if placeholder != "" {
			p += " " + placeholder
		}
		names = append(names, p)
	}
	if d := defaultOf(df); d != "" && !givesDefault(usage, d) {
		usage += " (default: " + d + ")"
	}
	return strings.Join(names, ", ") + "\t" + usage
}

// givesDefault reports whether a usage text already states the flag's
// default d: "(default ...)", "default: ..." or "default d" ("Keras's
// default 32"). A usage that only mentions defaults ("Keras's update rules
// and defaults") still gets the flag's own.
func givesDefault(usage, d string) bool {
	u := strings.ToLower(usage)
	return strings.Contains(u, "(default") || strings.Contains(u, "default:") || strings.Contains(u, "default "+strings.ToLower(d))
}

// unquote returns the `placeholder` of a usage text and the text without
// its back quotes.
func unquote(usage string) (string, string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	name := usage[i+1 : i+1+j]
	return name, usage[:i] + name + usage[i+2+j:]
}

// placeholderOf names the value of a flag whose usage names none, by type.
func placeholderOf(f cli.Flag) string {
	switch f.(type) {
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		return "N"
	case *cli.Float64Flag:
		return "X"
	}
	return "VALUE"
}

// defaultOf returns the default to show for f: its DefaultText, else its
// value unless that is a zero value.
func defaultOf(f cli.DocGenerationFlag) string {
	if _, isBool := f.(*cli.BoolFlag); isBool {
		return ""
	}
	d := strings.Trim(f.GetDefaultText(), `"`)
	switch d {
	case "", "0", "[]", "false":
		return ""
	}
	return d
}

// setUpFlags makes every command's flag errors one line that names the
// command and says what to type: urfave/cli prints the whole help page on
// a missing required flag, so requirements are checked here instead (in the
// command's Before, after --help), and its parse errors are reworded with
// the nearest flag name.
func setUpFlags(app *cli.App) {
	for _, c := range app.Commands {
		var required []cli.Flag
		for _, f := range c.Flags {
			if unrequire(f) {
				required = append(required, f)
			}
		}
		before, name := c.Before, c.Name
		c.Before = func(ctx *cli.Context) error {
			var missing []string
			for _, f := range required {
				set := false
				for _, n := range f.Names() {
					set = set || ctx.IsSet(n)
				}
				if !set {
					missing = append(missing, "--"+f.Names()[0])
				}
			}
			if len(missing) > 0 {
				return usagef("%s: missing %s (run `xfer help %s` for every flag)", name, andList(missing), name)
			}
			if before != nil {
				return before(ctx)
			}
			return nil
		}
		flags := c.Flags
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return &usageError{flagError(name, flags, err)}
		}
	}
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return &usageError{flagError("", app.Flags, err)}
	}
}

// unrequire clears a required flag's Required (setUpFlags checks it) and
// says "(required)" in its usage; it reports whether f was required.
func unrequire(f cli.Flag) bool {
	// Every urfave/cli flag type is a struct with Required and Usage
	// fields; the package has no interface to set them through.
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	req, usage := v.Elem().FieldByName("Required"), v.Elem().FieldByName("Usage")
	if req.Kind() != reflect.Bool || usage.Kind() != reflect.String || !req.Bool() {
		return false
	}
	req.SetBool(false)
	usage.SetString(usage.String() + " (required)")
	return true
}

// The flag package's parse errors (urfave/cli passes them on as they are).
var (
	reUnknownFlag = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	reNeedsValue  = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
	reBadValue    = regexp.MustCompile(`^invalid value "(.*)" for flag -+([^:]*): (.*)$`)
	reBadBool     = regexp.MustCompile(`^invalid boolean value "(.*)" for -+([^:]*): (.*)$`)
)

// flagError rewords a parse error of command cmd ("" for xfer's own flags)
// as one line naming the command, the flag and what to type.
func flagError(cmd string, flags []cli.Flag, err error) error {
	prefix, help := "", "xfer --help"
	if cmd != "" {
		prefix, help = cmd+": ", "xfer help "+cmd
	}
	msg := err.Error()
	if m := reUnknownFlag.FindStringSubmatch(msg); m != nil {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		if s := nearest(m[1], names); s != "" {
			return fmt.Errorf("%sunknown flag %s (did you mean %s?)", prefix, dashed(m[1]), dashed(s))
		}
		return fmt.Errorf("%sunknown flag %s (run `%s` for its flags)", prefix, dashed(m[1]), help)
	}
	if m := reNeedsValue.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s%s needs a value (run `%s`)", prefix, dashed(m[1]), help)
	}
	if m := reBadValue.FindStringSubmatch(msg); m != nil {
		want := "a value"
		for _, f := range flags {
			if slices.Contains(f.Names(), m[2]) {
				switch f.(type) {
				case *cli.IntFlag, *cli.Int64Flag:
					want = "a whole number"
				case *cli.Float64Flag:
					want = "a number"
				}
			}
		}
		return fmt.Errorf("%s%s %s: want %s", prefix, dashed(m[2]), m[1], want)
	}
	if m := reBadBool.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s%s=%s: want true or false (or the flag alone)", prefix, dashed(m[2]), m[1])
	}
	return fmt.Errorf("%s%s", prefix, msg)
}

// dashed writes a flag name as it is typed.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// andList joins "a", "b", "c" as "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// nearest returns the candidate closest to s by edit distance, when it is
// close enough to be what was meant (at most a third of its length, at
// least one edit), or "".
func nearest(s string, candidates []string) string {
	best, bestD := "", max(1, len(s)/3)+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, with a swap of
// two neighbouring letters counting as one edit (optimal string alignment).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// unknownCommand is the usage error of a command xfer does not have.
func unknownCommand(app *cli.App, name string) error {
	var names []string
	for _, c := range app.Commands {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	if s := nearest(name, names); s != "" {
		return usagef("unknown command %q (did you mean %q?)", name, s)
	}
	return usagef("unknown command %q (run `xfer --help` for the list)", name)
}

// newHelpCmd is `xfer help [COMMAND]`: the help page of a command, or of
// xfer.
func newHelpCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show a command's flags and what it does, or the list of commands",
		ArgsUsage: "[COMMAND]",
		Action: func(c *cli.Context) error {
			switch c.NArg() {
			case 0:
				return cli.ShowAppHelp(c)
			case 1:
				name := c.Args().First()
				if cmd := c.App.Command(name); cmd == nil || cmd.Hidden {
					return unknownCommand(c.App, name)
				}
				// The app's context: ShowCommandHelp looks the name up among
				// the subcommands of the context's command.
				return cli.ShowCommandHelp(c.Lineage()[1], name)
			}
			return usagef("help: give one command, not %d", c.NArg())
		},
	}
}
