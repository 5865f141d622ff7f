// Command llmmeterctl is the admin CLI: API keys on the embedded store.
package main

import (
	"context"
	"os"

	"llmmeter/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
