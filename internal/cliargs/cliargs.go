// Package cliargs parses the flags of llmmeterctl's subcommands: the
// admin commands (internal/cli) and the jobs commands (jobs.Command)
// share it, since jobs cannot import internal/cli.
package cliargs

import (
	"flag"
	"fmt"
)

// Parse parses args into fs and wants exactly n arguments after the flags.
// The flag package stops at the first word that is not a flag, so an
// unquoted value with a space ("-name ops laptop -admin") left every flag
// after it unread, and the command ran without them. Errors start with
// fs's name.
func Parse(fs *flag.FlagSet, args []string, n int) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != n {
		extra := fs.Args()
		if len(extra) > n {
			return fmt.Errorf("%s: unexpected argument %q: flags go before arguments, and a value with spaces needs quotes", fs.Name(), extra[n])
		}
		return fmt.Errorf("%s: want %d argument(s), got %d", fs.Name(), n, len(extra))
	}
	return nil
}

// WantsHelp reports whether args ask for help (-h, -help, --h or --help
// before a "--"). The CLI checks it before it opens or creates a store: a
// subcommand's flags are parsed only once the store is open, so "-h" used
// to create a store before it printed anything.
func WantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--h", "--help":
			return true
		}
	}
	return false
}
